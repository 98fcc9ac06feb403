import assert from 'assert';
import sinon from 'sinon';
import { openRegistry, type DeviceEvent, type DeviceRegistry } from '../../lib/registry';
import { PRESENCE_NAMESPACE } from '../../lib/registry/registry';

const T0 = 1_700_000_000_000;

describe('presence marks on the registry', () => {
  let clock: sinon.SinonFakeTimers;
  let registry: DeviceRegistry;
  let events: string[];

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    registry = await openRegistry({ name: 'presence', store: { kind: 'memory' }, defaultOfflineTimeoutMs: 60_000, sweepMs: 100 });
    await registry.register({ id: 'd1' });
    events = [];
    registry.on('device', (e: DeviceEvent) => events.push(`${e.event}:${e.deviceId}`));
  });
  afterEach(async () => {
    await registry.close();
    clock.restore();
  });

  it('markOffline makes an online device offline at once, once; a later timer tick says nothing more', async () => {
    await registry.touch('d1');
    assert.strictEqual(registry.markOffline('d1'), true);
    assert.strictEqual(registry.markOffline('d1'), false, 'marked offline twice: one transition');
    assert.strictEqual(registry.isOnline('d1'), false);
    await clock.tickAsync(120_000);
    assert.deepStrictEqual(events, ['online:d1', 'offline:d1']);
  });

  it('an uplink after markOffline makes the device online again, with one online event', async () => {
    await registry.touch('d1');
    registry.markOffline('d1');
    await clock.tickAsync(1000);
    await registry.touch('d1');
    await registry.touch('d1');
    assert.strictEqual(registry.isOnline('d1'), true);
    assert.deepStrictEqual(events, ['online:d1', 'offline:d1', 'online:d1']);
  });

  it('markOnline emits online once, and the timer then takes it offline once when it stays silent', async () => {
    assert.strictEqual(registry.markOnline('d1'), true);
    assert.strictEqual(registry.markOnline('d1'), false);
    await clock.tickAsync(61_000);
    assert.deepStrictEqual(events, ['online:d1', 'offline:d1']);
    assert.strictEqual(registry.get('d1')?.lastSeen, T0);
  });

  it('a stale mark (a will older than the last uplink, a connect older than the last offline mark) changes nothing', async () => {
    await clock.tickAsync(5000);
    await registry.touch('d1');
    assert.strictEqual(registry.markOffline('d1', T0 + 1000), false);
    assert.strictEqual(registry.isOnline('d1'), true);
    await clock.tickAsync(5000);
    registry.markOffline('d1', T0 + 8000);
    assert.strictEqual(registry.markOnline('d1', T0 + 7000), false);
    assert.strictEqual(registry.isOnline('d1'), false);
    assert.deepStrictEqual(events, ['online:d1', 'offline:d1']);
  });

  it('a mark dated ahead of this clock counts as now', async () => {
    await registry.touch('d1');
    registry.markOffline('d1', T0 + 3_600_000);
    await clock.tickAsync(1000);
    assert.strictEqual(registry.markOnline('d1', T0 + 500), true, 'a connect after the mark is not stale, though the mark said an hour ahead');
  });

  it('reads its stored marks by format version: a mark it cannot read is left alone and the timer decides', async () => {
    const key = `presence-format-${Math.random()}`;
    const first = await openRegistry({ name: 'fmt', store: { kind: 'memory', key }, defaultOfflineTimeoutMs: 60_000 });
    await first.register({ id: 'a' });
    await first.register({ id: 'b' });
    await first.touch('a');
    await first.touch('b');
    first.markOffline('a');
    await (await first.state(PRESENCE_NAMESPACE)).set('b', { v: 99, offlineAt: Date.now(), why: 'a newer release' });
    await first.close();
    const second = await openRegistry({ name: 'fmt', store: { kind: 'memory', key }, defaultOfflineTimeoutMs: 60_000 });
    try {
      assert.deepStrictEqual([second.isOnline('a'), second.isOnline('b')], [false, true]);
      assert.deepStrictEqual((await second.state(PRESENCE_NAMESPACE)).get('a'), { v: 1, offlineAt: T0 });
      await second.touch('b');
      assert.strictEqual(((await second.state(PRESENCE_NAMESPACE)).get('b') as { v: number }).v, 99, 'left as it was');
    } finally {
      await second.close();
    }
  });

  it('refuses an unknown device or a bad time, changing nothing', () => {
    assert.throws(() => registry.markOffline('nope'), { code: 'DEVICE_NOT_FOUND' });
    assert.throws(() => registry.markOnline('d1', Number.NaN), { code: 'INVALID_FIELD' });
    assert.throws(() => registry.markOnline('a/b'), { code: 'INVALID_DEVICE_ID' });
    assert.deepStrictEqual(events, []);
  });

  it('tells seen listeners of every uplink, after the online event', async () => {
    const seen: string[] = [];
    const stop = registry.onSeen((id) => seen.push(`seen:${id}`));
    registry.on('device', (e: DeviceEvent) => seen.push(e.event));
    await registry.touch('d1');
    await registry.touch('d1');
    stop();
    await registry.touch('d1');
    assert.deepStrictEqual(seen, ['online', 'seen:d1', 'seen:d1']);
  });
});
