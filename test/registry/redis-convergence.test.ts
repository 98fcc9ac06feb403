import assert from 'assert';
import Redis from 'ioredis';
import { createRegistry, type DeviceEvent, type DeviceRegistry } from '../../lib/registry';
import { RedisStore } from '../../lib/registry/stores/redis';
import { PrivateRedis, redisServerInstalled, storeState } from './redis-server';

/** Resolves once the registry has emitted every one of `wanted` (`<event> <deviceId>`), in any order. */
function deviceEvents(registry: DeviceRegistry, wanted: string[]): Promise<void> {
  const missing = new Set(wanted);
  return new Promise((resolve) => {
    const listener = (e: DeviceEvent): void => {
      missing.delete(`${e.event} ${e.deviceId}`);
      if (missing.size > 0) return;
      registry.off('device', listener);
      resolve();
    };
    registry.on('device', listener);
  });
}

describe('two registries on one Redis after a lost subscription', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  const registries: DeviceRegistry[] = [];

  before(async function () {
    if (!redisServerInstalled()) this.skip();
    redis = await PrivateRedis.create();
    admin = new Redis(redis.url());
  });
  after(async () => {
    await Promise.all(registries.map((r) => r.close()));
    admin?.disconnect();
    await redis?.stop();
  });

  async function open(name: string): Promise<DeviceRegistry> {
    const registry = createRegistry({ name, store: { kind: 'redis', url: redis.url() } });
    registries.push(registry);
    await registry.ready();
    return registry;
  }

  it('catch up on everything they missed, and a stale copy never overwrites a newer record', async () => {
    const a = await open('drift');
    const b = await open('drift');
    const seenByB = deviceEvents(b, ['registered dev-1', 'registered dev-3']);
    const { token: firstToken } = await a.register({ id: 'dev-1', attributes: { limit: 1 } }, { issueToken: true });
    await a.register({ id: 'dev-3' });
    await seenByB;

    // Both subscriptions drop (the main connections stay): what a publishes now, b never hears.
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await Promise.all([storeState(a, 'waiting'), storeState(b, 'waiting')]);
    const { token: newToken } = await a.register({ id: 'dev-1', attributes: { limit: 2 } }, { upsert: true, issueToken: true });
    await a.register({ id: 'dev-2' });
    await a.remove('dev-3');
    await (await a.state('rule:x')).set('dev-1/r', { active: true });
    assert.strictEqual(b.get('dev-1')?.attributes.limit, 1, 'b missed the change');

    // b writes from its stale copy: refused, and b now holds the current record (credential hash included).
    await assert.rejects(b.update('dev-1', { attributes: { owner: 'b' } }), (err: { code?: string }) => err.code === 'VERSION_CONFLICT');
    assert.strictEqual(b.get('dev-1')?.attributes.limit, 2);
    assert.strictEqual(await b.verify('dev-1', newToken as string), true);
    assert.strictEqual(await b.verify('dev-1', firstToken as string), false);

    // Once b's subscription is back it reloads and reports the differences as changes.
    const caughtUp = deviceEvents(b, ['registered dev-2', 'removed dev-3']);
    await storeState(b, 'connected');
    await caughtUp;
    assert.deepStrictEqual((await b.state('rule:x')).get('dev-1/r'), { active: true });
    assert.deepStrictEqual(
      b
        .list()
        .devices.map((d) => d.id)
        .sort(),
      ['dev-1', 'dev-2'],
    );

    // A retry from the current copy goes through, and a sees it with the credential intact.
    await storeState(a, 'connected');
    const seenByA = deviceEvents(a, ['updated dev-1']);
    await b.update('dev-1', { attributes: { owner: 'b' } });
    await seenByA;
    assert.deepStrictEqual(a.get('dev-1')?.attributes, { limit: 2, owner: 'b' });
    assert.strictEqual(await a.verify('dev-1', newToken as string), true);
  });

  it('records stored before revisions existed read as revision 0 and can be updated', async () => {
    const legacy = { id: 'old-1', name: 'old-1', type: '', attributes: { v: 1 }, tags: [], createdAt: 1, updatedAt: 1, lastSeen: null };
    await admin.hset('m2m:legacy:devices', 'old-1', JSON.stringify(legacy));
    const registry = await open('legacy');
    assert.strictEqual(registry.snapshot().devices[0]?.rev, 0);
    await registry.update('old-1', { attributes: { v: 2 } });
    const stored = JSON.parse((await admin.hget('m2m:legacy:devices', 'old-1')) as string) as { rev: number; attributes: unknown };
    assert.ok(stored.rev > 0);
    assert.deepStrictEqual(stored.attributes, { v: 2 });
  });

  it('last-seen times only move forward, whichever instance flushes last', async () => {
    const first = await open('seen');
    await first.register({ id: 'dev-s' });
    const newer = new RedisStore({ url: redis.url(), namespace: 'seen' });
    const older = new RedisStore({ url: redis.url(), namespace: 'seen' });
    await Promise.all([newer.load(), older.load()]);
    newer.recordSeen('dev-s', 2000);
    await newer.close();
    older.recordSeen('dev-s', 1000);
    await older.close();
    assert.strictEqual(await admin.hget('m2m:seen:seen', 'dev-s'), '2000');
  });
});
