import assert from 'assert';
import Redis from 'ioredis';
import { openRegistry, type DeviceEvent, type DeviceRegistry } from '../../lib/registry';
import { serviceAvailable } from '../helpers/services';

describe('two registries on one Redis', () => {
  const namespace = `shared-${process.pid}-${Date.now()}`;
  let a: DeviceRegistry;
  let b: DeviceRegistry;

  before(async function () {
    if (!(await serviceAvailable('Redis', 6379))) this.skip();
    const options = { name: namespace, store: { kind: 'redis' as const, url: 'redis://127.0.0.1:6379' } };
    a = await openRegistry(options);
    b = await openRegistry(options);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    const client = new Redis('redis://127.0.0.1:6379');
    const keys = await client.keys(`m2m:${namespace}:*`);
    if (keys.length) await client.del(...keys);
    await client.quit();
  });

  it('see each other’s registrations, updates, removals and state at once', async () => {
    const next = (deviceId = 'dev-1'): Promise<DeviceEvent> =>
      new Promise((resolve) => {
        const listener = (e: DeviceEvent): void => {
          if (e.deviceId !== deviceId) return;
          b.off('device', listener);
          resolve(e);
        };
        b.on('device', listener);
      });
    let seen = next();
    await a.register({ id: 'dev-1', attributes: { limit: 4 } });
    assert.strictEqual((await seen).event, 'registered');
    assert.strictEqual(b.get('dev-1')?.attributes.limit, 4);

    seen = next();
    await a.update('dev-1', { attributes: { limit: 5 } });
    assert.strictEqual((await seen).event, 'updated');
    assert.strictEqual(b.get('dev-1')?.attributes.limit, 5);

    const stateA = await a.state('rule:x');
    const stateB = await b.state('rule:x');
    await stateA.set('dev-1/r', { active: true });
    await b.register({ id: 'dev-2' });
    const barrier = next('dev-3'); // b has seen all of a's earlier changes when this one arrives
    await a.register({ id: 'dev-3' });
    await barrier;
    assert.deepStrictEqual(stateB.get('dev-1/r'), { active: true });
    assert.ok(a.has('dev-2'));

    seen = next();
    await a.remove('dev-1');
    assert.strictEqual((await seen).event, 'removed');
    assert.strictEqual(b.has('dev-1'), false);
  });

  it('a third registry opening later loads everything', async () => {
    const c = await openRegistry({ name: namespace, store: { kind: 'redis', url: 'redis://127.0.0.1:6379' } });
    try {
      assert.ok(c.has('dev-2') && c.has('dev-3'));
      assert.ok(!c.has('dev-1'));
    } finally {
      await c.close();
    }
  });
});
