import assert from 'assert';
import Redis from 'ioredis';
import { createRegistry, type DeviceRegistry } from '../../lib/registry';
import { retryDelay } from '../../lib/registry/stores/redis';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import { catchNode, helper, nextMessages, type TestNode } from '../helpers/node-red';
import { PrivateRedis, redisServerInstalled, spiedCalls, storeState } from './redis-server';

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
    const loadedLater = registry.whenLoaded(); // start-up work (rule or command state) waits instead

    await redis.start();
    await Promise.all([loaded, loadedLater]);
    await storeState(registry, 'connected');
    await registry.ready();
    await registry.register({ id: 'dev-1' });

    const other = open(redis.url());
    await other.ready();
    assert.deepStrictEqual(
      other.list().devices.map((d) => d.id),
      ['dev-1'],
      'the early write was refused, the later one stored',
    );
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
    assert.deepStrictEqual(
      other
        .list()
        .devices.map((d) => d.id)
        .sort(),
      ['after', 'before'],
    );
    assert.strictEqual(other.get('before')?.name, 'before');
  });
});

/** The node's current badge: the last status it set. */
function badgeOf(node: TestNode): unknown {
  return spiedCalls(node, 'status').at(-1)?.[0];
}

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
    await storeState(registry, 'waiting');
    assert.deepStrictEqual(badgeOf(node), { fill: 'yellow', shape: 'ring', text: 'waiting for Redis…' });
    await redis.start();
    await storeState(registry, 'connected');
    await registry.ready();
    assert.deepStrictEqual(badgeOf(node), { fill: 'green', shape: 'dot', text: 'connected' });
    assert.strictEqual(node.registryError, undefined);
  });

  it('an m2m-device message while Redis is away reaches the Catch node with STORE_UNAVAILABLE; after Redis is up it works', async () => {
    redis = await PrivateRedis.create({ startLater: true });
    const flow = [
      { id: 'reg', type: 'm2m-registry', name: 'e2e', storeType: 'redis', offlineTimeout: 300, deviceTypes: '[]' },
      { id: 'dev', type: 'm2m-device', z: 'f1', registry: 'reg', operation: 'register', wires: [['out'], []] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
      { id: 'f1', type: 'tab' },
    ];
    await helper.load([registryNode, deviceNode, catchNode], flow, { reg: { redisUrl: redis.url() } });
    const registry = helper.getNode('reg').registry as DeviceRegistry;
    await storeState(registry, 'waiting');
    const caughtNext = nextMessages(helper.getNode('caught'));
    helper.getNode('dev').receive({ payload: { id: 'dev-1' } });
    const [caught] = await caughtNext;
    assert.strictEqual((caught?.error as { code?: string }).code, 'STORE_UNAVAILABLE');

    await redis.start();
    await storeState(registry, 'connected');
    const storedNext = nextMessages(helper.getNode('out'));
    helper.getNode('dev').receive({ payload: { id: 'dev-1' } });
    const [stored] = await storedNext;
    assert.strictEqual(stored?.created, true);
  });

  it('shows "store failed" when the data in Redis cannot be loaded', async () => {
    redis = await PrivateRedis.create();
    const admin = new Redis(redis.url());
    await admin.set('m2m:broken:devices', 'not a hash');
    admin.disconnect();
    const flow = [{ id: 'reg', type: 'm2m-registry', name: 'broken', storeType: 'redis', offlineTimeout: 300, deviceTypes: '[]' }];
    await helper.load(registryNode, flow, { reg: { redisUrl: redis.url() } });
    const node = helper.getNode('reg');
    const registry = node.registry as DeviceRegistry;
    await assert.rejects(registry.ready(), (err: { code?: string }) => err.code === 'STORE_UNAVAILABLE');
    assert.strictEqual(registry.storeState?.state, 'failed');
    assert.deepStrictEqual(badgeOf(node), { fill: 'red', shape: 'ring', text: 'store failed' });
    assert.match(String(node.registryError), /WRONGTYPE/);
  });
});
