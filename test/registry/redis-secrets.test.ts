import assert from 'assert';
import { createRegistry, type DeviceRegistry } from '../../lib/registry';
import { redactUrl } from '../../lib/registry/stores/redis';
import type { StoreStatus } from '../../lib/registry/stores/types';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import { helper } from '../helpers/node-red';
import { PrivateRedis, redisServerInstalled, spiedCalls, storeState } from './redis-server';

const PASSWORD = 'p@ss@w0rd:x';

describe('Redis passwords never reach the log', () => {
  it('redactUrl removes the whole user info, even when the password contains @ or :', () => {
    assert.strictEqual(redactUrl('redis://:p@ss@host:6379'), 'redis://***@host:6379');
    assert.strictEqual(redactUrl(`redis://user:${PASSWORD}@10.0.0.5:6380/2`), 'redis://***@10.0.0.5:6380/2');
    assert.strictEqual(redactUrl('rediss://user:pw@host?password=secret&db=1'), 'rediss://***@host?password=***&db=1');
    assert.strictEqual(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  });

  describe('in what the store and the node report', () => {
    let redis: PrivateRedis | undefined;
    const registries: DeviceRegistry[] = [];
    before(function () {
      if (!redisServerInstalled()) this.skip();
    });
    afterEach(async () => {
      await Promise.all(registries.splice(0).map((r) => r.close()));
      await helper.unload();
      await redis?.stop();
    });

    function open(url: string, logged: string[]): DeviceRegistry {
      const registry = createRegistry({ name: 'secret', store: { kind: 'redis', url }, warn: (m) => logged.push(m) });
      registry.on('store', (status: StoreStatus) => logged.push(status.error ?? ''));
      registries.push(registry);
      return registry;
    }

    function assertNoSecret(logged: string[]): void {
      assert.ok(logged.join('').length > 0, 'something was reported');
      for (const text of logged) {
        for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), 'p@ss', 'w0rd']) assert.ok(!text.includes(secret), `leaked in: ${text}`);
      }
    }

    it('a password with @ connects, and a wrong one is reported without it', async () => {
      redis = await PrivateRedis.create({ password: PASSWORD });
      const right = open(redis.url(), []);
      await right.ready();
      await right.register({ id: 'dev-1' });

      const logged: string[] = [];
      const wrong = open(redis.url(`${PASSWORD}-old`), logged);
      await storeState(wrong, 'waiting');
      await assert.rejects(wrong.register({ id: 'dev-2' }), (err: Error) => {
        logged.push(err.message);
        return (err as { code?: string }).code === 'STORE_UNAVAILABLE';
      });
      assertNoSecret(logged);
    });

    it('the m2m-registry node logs an unreachable Redis without the password', async () => {
      redis = await PrivateRedis.create({ startLater: true });
      const flow = [{ id: 'reg', type: 'm2m-registry', name: 'secret', storeType: 'redis', offlineTimeout: 300, deviceTypes: '[]' }];
      await helper.load(registryNode, flow, { reg: { redisUrl: redis.url(PASSWORD) } });
      const node = helper.getNode('reg');
      await storeState(node.registry as DeviceRegistry, 'waiting');
      const logged = (['warn', 'error', 'log'] as const).flatMap((method) => spiedCalls(node, method).map((args) => String(args[0])));
      assertNoSecret(logged);
    });
  });
});
