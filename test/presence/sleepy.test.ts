import assert from 'assert';
import sinon from 'sinon';
import { openRegistry, parseDeviceTypes, type DeviceRegistry, type DeviceType } from '../../lib/registry';
import { FAKE, harness, reply, type Harness } from '../command/harness';

// A sleepy device listens only right after it sends: its commands wait, with no reply timeout running, and go
// out in order the moment it is heard; the time to live still ends a command that waits too long.

const TYPES: DeviceType[] = [
  { name: 'meter', sleepy: true, offlineTimeoutMs: 3_600_000 },
  { name: 'tag', sleepy: true, listenWindowMs: 2000, maxWaitMs: 600_000 },
  { name: 'valve' },
];

describe('sleepy devices in m2m-command', () => {
  let clock: sinon.SinonFakeTimers;
  let registry: DeviceRegistry;
  let memoryKey: string;
  const trackers: Harness[] = [];

  async function trackerOn(): Promise<Harness> {
    const h = harness({ registry, store: await registry.state('command:sleepy') });
    trackers.push(h);
    return h;
  }

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, ...FAKE });
    memoryKey = `sleepy-${Math.random()}`;
    registry = await openRegistry({ name: 'sleepy', store: { kind: 'memory', key: memoryKey }, types: TYPES, defaultOfflineTimeoutMs: 3_600_000 });
    for (const [id, type] of [
      ['m1', 'meter'],
      ['m2', 'meter'],
      ['t1', 'tag'],
      ['v1', 'valve'],
    ]) {
      await registry.register({ id, type });
      await registry.touch(id);
    }
  });
  afterEach(async () => {
    trackers.splice(0).forEach((h) => h.tracker.close());
    await registry.close();
    clock.restore();
  });

  it('queues a command to a sleepy device that is online, without a reply timeout while it sleeps, and sends on its next uplink', async () => {
    const h = await trackerOn();
    const { id, status } = h.tracker.submit({ deviceId: 'm1', command: 'read', timeout: 10_000 });
    assert.strictEqual(status, 'queued');
    await clock.tickAsync(30 * 60_000);
    assert.deepStrictEqual(h.statuses(id), ['queued'], 'no timeout while it sleeps');
    assert.strictEqual(h.sent.length, 0);
    await registry.touch('m1');
    assert.deepStrictEqual(
      h.sent.map((m) => m.commandId),
      [id],
      'out the moment it is heard',
    );
    assert.strictEqual(reply(h, id, { status: 'ok', result: 7 }, 'm1'), 'matched');
    assert.deepStrictEqual(h.statuses(id), ['queued', 'sent', 'succeeded']);
  });

  it('sends the waiting commands in the order they came, and only to the device heard', async () => {
    const h = await trackerOn();
    const ids = ['a', 'b', 'c'].map((c) => h.tracker.submit({ deviceId: 'm1', command: c }).id);
    const other = h.tracker.submit({ deviceId: 'm2', command: 'z' }).id;
    await clock.tickAsync(60_000);
    await registry.touch('m1');
    assert.deepStrictEqual(
      h.sent.map((m) => m.commandId),
      ids,
    );
    assert.deepStrictEqual(h.statuses(other), ['queued']);
  });

  it('a non-sleepy online device gets its command at once', async () => {
    const h = await trackerOn();
    assert.strictEqual(h.tracker.submit({ deviceId: 'v1', command: 'open' }).status, 'sent');
  });

  it('the time to live still ends a command while the device sleeps; the next uplink sends nothing', async () => {
    const h = await trackerOn();
    const { id } = h.tracker.submit({ deviceId: 'm1', command: 'read', ttl: 30_000 });
    await clock.tickAsync(30_001);
    assert.deepStrictEqual(h.statuses(id), ['queued', 'expired']);
    await registry.touch('m1');
    assert.strictEqual(h.sent.length, 0);
  });

  it("the type's maxWaitMs ends a command without a time to live of its own", async () => {
    const h = await trackerOn();
    await clock.tickAsync(10_000); // out of t1's listening window
    const { id } = h.tracker.submit({ deviceId: 't1', command: 'blink' });
    await clock.tickAsync(600_001);
    assert.deepStrictEqual(h.statuses(id), ['queued', 'expired']);
  });

  it('within the listening window after an uplink a command goes out at once; after it, it waits', async () => {
    const h = await trackerOn();
    await registry.touch('t1');
    await clock.tickAsync(1000);
    assert.strictEqual(h.tracker.submit({ deviceId: 't1', command: 'now' }).status, 'sent');
    await clock.tickAsync(1500);
    assert.strictEqual(h.tracker.submit({ deviceId: 't1', command: 'later' }).status, 'queued');
  });

  it('a retry after no reply waits for the next uplink too', async () => {
    const h = await trackerOn();
    const { id } = h.tracker.submit({ deviceId: 'm1', command: 'read', timeout: 5000, retries: 1 });
    await registry.touch('m1');
    assert.strictEqual(h.sent.length, 1);
    await clock.tickAsync(5000 + 1000 + 10); // reply timeout, then the backoff
    assert.strictEqual(h.sent.length, 1, 'the retry is not sent to a sleeping device');
    assert.strictEqual(h.tracker.counts().queued, 1);
    await registry.touch('m1');
    assert.strictEqual(h.sent.length, 2);
    assert.strictEqual(h.events.filter((e) => e.id === id && e.status === 'queued').length, 1, 'queued is reported once');
  });

  it('after a restart the waiting commands keep waiting (the device is online but asleep) and go out on the next uplink', async () => {
    const first = await trackerOn();
    const ids = ['a', 'b'].map((c) => first.tracker.submit({ deviceId: 'm1', command: c }).id);
    first.tracker.close();
    await registry.close();
    registry = await openRegistry({ name: 'sleepy', store: { kind: 'memory', key: memoryKey }, types: TYPES, defaultOfflineTimeoutMs: 3_600_000 });
    assert.strictEqual(registry.isOnline('m1'), true);
    const second = await trackerOn();
    assert.strictEqual(second.sent.length, 0);
    assert.strictEqual(second.tracker.counts().queued, 2);
    await registry.touch('m1');
    assert.deepStrictEqual(
      second.sent.map((m) => m.commandId),
      ids,
    );
  });

  it('a sleepy device marked offline (its last will) and heard again gets its commands once', async () => {
    const h = await trackerOn();
    registry.markOffline('m1');
    const { id } = h.tracker.submit({ deviceId: 'm1', command: 'read' });
    await registry.touch('m1');
    assert.deepStrictEqual(
      h.sent.map((m) => m.commandId),
      [id],
    );
  });

  it('device types: sleepy must be a boolean, and its options only on a sleepy type', () => {
    assert.deepStrictEqual(parseDeviceTypes('[{"name":"m","sleepy":true,"listenWindowMs":500,"maxWaitMs":60000}]')[0].sleepy, true);
    const bad: Array<[string, RegExp]> = [
      ['[{"name":"m","sleepy":"yes"}]', /sleepy must be true or false/],
      ['[{"name":"m","listenWindowMs":500}]', /listenWindowMs applies only to a sleepy type/],
      ['[{"name":"m","sleepy":true,"maxWaitMs":0}]', /maxWaitMs must be a number of milliseconds/],
    ];
    for (const [text, message] of bad) assert.throws(() => parseDeviceTypes(text), { code: 'INVALID_CONFIG', message }, text);
  });
});
