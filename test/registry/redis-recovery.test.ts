import assert from 'assert';
import { createRegistry, type DeviceRegistry } from '../../lib/registry';
import { retryDelay } from '../../lib/registry/stores/redis';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import { helper } from '../helpers/node-red';
import { PrivateRedis, redisServerInstalled, storeState } from './redis-server';

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: { code?: string }) => err.code === code);
}

describe('a Redis registry that cannot reach Redis', () => {
  let redis: PrivateRedis | undefined;
  const registries: DeviceRegistry[] = [];

  before(function () {
    if (!redisServerInstalled()) this.skip();
  });
  afterEach(async () => {
    await Promise.all(registries.splice(0).map((r) => r.close()));
    await redis?.stop();
  });

  function open(url: string): DeviceRegistry {
    const registry = createRegistry({ name: 'recovery', store: { kind: 'redis', url } });
    registries.push(registry);
    return registry;
  }

  it('retries with a capped backoff: 0.5 s doubling to 30 s', () => {
    assert.deepStrictEqual([1, 2, 3, 4, 5, 6, 7, 50, 10_000].map(retryDelay), [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('started before Redis: fails promptly with STORE_UNAVAILABLE, then loads and works once Redis is up', async () => {
    redis = await PrivateRedis.create({ startLater: true });
    const registry = open(redis.url());
    const loaded = registry.ready(); // asked before the first attempt failed: resolves once loaded
    await storeState(registry, 'waiting');
    await rejectsWith(registry.ready(), 'STORE_UNAVAILABLE');
    await rejectsWith(registry.register({ id: 'early' }), 'STORE_UNAVAILABLE');

    await redis.start();
    await loaded;
    await storeState(registry, 'connected');
    await registry.ready();
    await registry.register({ id: 'dev-1' });

    const other = open(redis.url());
    await other.ready();
    assert.deepStrictEqual(other.list().devices.map((d) => d.id), ['dev-1'], 'the early write was refused, the later one stored');
  });

  it('connected, then Redis goes away: writes fail promptly with STORE_UNAVAILABLE and are not stored; it reconnects by itself', async () => {
    redis = await PrivateRedis.create({ persistent: true });
    const registry = open(redis.url());
    await registry.ready();
    await registry.register({ id: 'before' });

    await redis.kill();
    await storeState(registry, 'waiting');
    // With ioredis's offline queue this would wait for the reconnect (and store it then, unacknowledged).
    await rejectsWith(registry.register({ id: 'during' }), 'STORE_UNAVAILABLE');
    await rejectsWith(registry.update('before', { name: 'renamed' }), 'STORE_UNAVAILABLE');
    assert.strictEqual(registry.has('during'), false);
    assert.strictEqual(registry.get('before')?.name, 'before');

    await redis.start();
    await storeState(registry, 'connected');
    await registry.register({ id: 'after' });
    const other = open(redis.url());
    await other.ready();
    assert.deepStrictEqual(other.list().devices.map((d) => d.id).sort(), ['after', 'before']);
    assert.strictEqual(other.get('before')?.name, 'before');
  });
});

describe('m2m-registry badge for Redis', () => {
  let redis: PrivateRedis | undefined;

  before(function () {
    if (!redisServerInstalled()) this.skip();
  });
  afterEach(async () => {
    await helper.unload();
    await redis?.stop();
  });

  it('shows "waiting for Redis…" while Redis is away and "connected" once it is there', async () => {
    redis = await PrivateRedis.create({ startLater: true });
    const flow = [{ id: 'reg', type: 'm2m-registry', name: 'badge', storeType: 'redis', offlineTimeout: 300, deviceTypes: '[]' }];
    await helper.load(registryNode, flow, { reg: { redisUrl: redis.url() } });
    const node = helper.getNode('reg');
    const registry = node.registry as DeviceRegistry;
    const badges: Array<{ fill?: string; shape?: string; text?: string }> = [];
    node.on('call:status', (call) => badges.push(call.args[0] as { text?: string }));

    await storeState(registry, 'waiting');
    assert.deepStrictEqual(badges.at(-1), { fill: 'yellow', shape: 'ring', text: 'waiting for Redis…' });
    await redis.start();
    await storeState(registry, 'connected');
    await registry.ready();
    assert.deepStrictEqual(badges.at(-1), { fill: 'green', shape: 'dot', text: 'connected' });
    assert.strictEqual(node.registryError, undefined);
  });
});
