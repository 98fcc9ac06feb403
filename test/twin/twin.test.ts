import assert from 'assert';
import sinon from 'sinon';
import { M2MError } from '../../lib/errors';
import { DeviceRegistry } from '../../lib/registry';
import { MemoryStore } from '../../lib/registry/stores/memory';
import type { DeviceType } from '../../lib/registry/types';
import { TWIN_NAMESPACE } from '../../lib/twin/record';
import { TwinService, twinsOf, type TwinDeviceType, type TwinEvent } from '../../lib/twin/twin';

const START = 1_700_000_000_000;

const THERMOSTAT: TwinDeviceType = {
  name: 'thermostat',
  offlineTimeoutMs: 10_000,
  desiredSchema: { type: 'object', properties: { setpoint: { type: 'number', minimum: 5, maximum: 30 }, mode: { enum: ['heat', 'off'] } } },
  reportedSchema: { type: 'object', properties: { setpoint: { type: 'number' } } },
};

/** A memory store whose state writes can be held back or refused, to show when a twin change is acknowledged. */
class ControlledStore extends MemoryStore {
  hold: Promise<void> | undefined;
  failNext = false;
  override async putState(namespace: string, key: string, value: unknown): Promise<void> {
    if (this.hold) await this.hold;
    if (this.failNext) {
      this.failNext = false;
      throw new M2MError('STORE_WRITE_FAILED', 'disk full');
    }
    await super.putState(namespace, key, value);
  }
}

function rejects(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  return assert.rejects(promise, (err: M2MError) => {
    assert.strictEqual(err.code, code, err.message);
    if (field !== undefined) assert.strictEqual(err.field, field);
    return true;
  });
}

describe('device twin', () => {
  let clock: sinon.SinonFakeTimers;
  let store: ControlledStore;
  let registry: DeviceRegistry;
  let twins: TwinService;
  let events: TwinEvent[];

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: START, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    store = new ControlledStore();
    registry = new DeviceRegistry({
      name: 'twin-test',
      store,
      types: [THERMOSTAT as DeviceType, { name: 'plain' }],
      defaultOfflineTimeoutMs: 60_000,
      sweepMs: 100,
    });
    await registry.ready();
    await registry.register({ id: 'th-1', type: 'thermostat' });
    twins = await TwinService.open(registry);
    events = [];
    twins.on('twin', (e: TwinEvent) => events.push(e));
  });
  afterEach(async () => {
    twins.close();
    await registry.close();
    clock.restore();
  });

  it('merges desired and reported patches, each with its own version and a time per top-level key', async () => {
    let result = await twins.desire('th-1', { setpoint: 21, mode: 'heat', schedule: { mon: [6, 22] } });
    assert.strictEqual(result.changed, true);
    clock.tick(5_000);
    result = await twins.desire('th-1', { mode: null, schedule: { tue: [7, 23] } });
    clock.tick(1_000);
    await twins.report('th-1', { setpoint: 19, firmware: '1.2' });
    const twin = await twins.get('th-1');
    assert.deepStrictEqual(twin.desired, { setpoint: 21, schedule: { mon: [6, 22], tue: [7, 23] } });
    assert.deepStrictEqual(twin.reported, { setpoint: 19, firmware: '1.2' });
    assert.strictEqual(twin.desiredVersion, 2);
    assert.strictEqual(twin.reportedVersion, 1);
    assert.deepStrictEqual(twin.metadata.desired, { setpoint: START, schedule: START + 5_000 }, 'a deleted key has no time');
    assert.deepStrictEqual(twin.metadata.reported, { setpoint: START + 6_000, firmware: START + 6_000 });
    assert.deepStrictEqual(twin.delta, { setpoint: 21, schedule: { mon: [6, 22], tue: [7, 23] } });
  });

  it('a patch that changes nothing keeps the version, writes nothing and sends no event', async () => {
    await twins.desire('th-1', { setpoint: 21 });
    const writes = sinon.spy(store, 'putState');
    events.length = 0;
    const result = await twins.desire('th-1', { setpoint: 21, gone: null });
    assert.strictEqual(result.changed, false);
    assert.strictEqual(result.twin.desiredVersion, 1);
    assert.strictEqual(writes.callCount, 0);
    assert.deepStrictEqual(events, []);
  });

  it('ifVersion: applies at the current version, fails with VERSION_CONFLICT otherwise and changes nothing', async () => {
    await twins.desire('th-1', { setpoint: 20 }, { ifVersion: 0 });
    await twins.desire('th-1', { setpoint: 21 }, { ifVersion: 1 });
    events.length = 0;
    await assert.rejects(twins.desire('th-1', { setpoint: 25 }, { ifVersion: 1 }), (err: M2MError) => {
      assert.strictEqual(err.code, 'VERSION_CONFLICT');
      assert.match(err.message, /at version 2, not 1/);
      return true;
    });
    await rejects(twins.desire('th-1', { setpoint: 25 }, { ifVersion: '2' }), 'INVALID_FIELD', 'ifVersion');
    await rejects(twins.report('th-1', { setpoint: 25 }, { ifVersion: 3 }), 'VERSION_CONFLICT', 'ifVersion');
    const twin = await twins.get('th-1');
    assert.strictEqual(twin.desired.setpoint, 21);
    assert.strictEqual(twin.desiredVersion, 2);
    assert.deepStrictEqual(twin.reported, {});
    assert.deepStrictEqual(events, []);
  });

  it('sends delta on every change that leaves something to apply, and synced once when a report applies the last of it', async () => {
    await twins.desire('th-1', { setpoint: 22, mode: 'heat' });
    await twins.report('th-1', { setpoint: 22 });
    await twins.report('th-1', { mode: 'heat' });
    await twins.report('th-1', { mode: 'heat', uptime: 5 });
    await twins.report('th-1', { uptime: 6 });
    assert.deepStrictEqual(
      events.map((e) => [e.event, e.delta, e.desiredVersion, e.reportedVersion]),
      [
        ['delta', { setpoint: 22, mode: 'heat' }, 1, 0],
        ['delta', { mode: 'heat' }, 1, 1],
        ['synced', {}, 1, 2],
      ],
    );
    assert.ok(events.every((e) => e.deviceId === 'th-1' && e.ts === START));
  });

  it('a desire that empties the delta is no sync: only a report is', async () => {
    await twins.report('th-1', { setpoint: 20 });
    await twins.desire('th-1', { setpoint: 22 });
    await twins.desire('th-1', { setpoint: 20 });
    assert.deepStrictEqual(
      events.map((e) => e.event),
      ['delta'],
    );
  });

  it('sends the delta again when the device comes back online, and nothing when it is in sync', async () => {
    await registry.register({ id: 'th-2', type: 'thermostat' });
    await registry.touch('th-1');
    await registry.touch('th-2');
    await clock.tickAsync(11_000); // both go offline
    assert.strictEqual(registry.isOnline('th-1'), false);
    await twins.desire('th-1', { setpoint: 18 });
    await twins.desire('th-2', { setpoint: 18 });
    await twins.report('th-2', { setpoint: 18 });
    events.length = 0;
    await registry.touch('th-1');
    await registry.touch('th-2');
    await registry.touch('th-1'); // still online: no transition, no event
    assert.deepStrictEqual(
      events.map((e) => [e.event, e.deviceId, e.delta]),
      [['delta', 'th-1', { setpoint: 18 }]],
    );
  });

  it('checks desired values against the type desiredSchema and reported ones against reportedSchema; a failure changes nothing', async () => {
    await twins.desire('th-1', { setpoint: 21 });
    await assert.rejects(twins.desire('th-1', { setpoint: 40 }), (err: M2MError) => {
      assert.strictEqual(err.code, 'SCHEMA_VALIDATION');
      assert.match(err.message, /desiredSchema.*\/setpoint must be <= 30/);
      return true;
    });
    await rejects(twins.report('th-1', { setpoint: 'warm' }), 'SCHEMA_VALIDATION', 'payload');
    const twin = await twins.get('th-1');
    assert.deepStrictEqual([twin.desired, twin.desiredVersion, twin.reported, twin.reportedVersion], [{ setpoint: 21 }, 1, {}, 0]);
    // a type without twin schemas takes any JSON
    await registry.register({ id: 'p-1', type: 'plain' });
    await twins.desire('p-1', { setpoint: 400 });
  });

  it('a type whose desiredSchema cannot run safely is refused when the registry is deployed, naming the schema path', () => {
    const broken = { name: 'broken', desiredSchema: { type: 'object', properties: { code: { type: 'string', pattern: '(a+)+\\1' } } } };
    assert.throws(
      () => new DeviceRegistry({ name: 'twin-broken', store: new MemoryStore(), types: [broken as DeviceType] }),
      (err: unknown) => err instanceof M2MError && err.code === 'UNSAFE_PATTERN' && /desiredSchema\.properties\.code\.pattern/.test(err.message),
    );
  });

  it('refuses an oversized, too deep, hostile or non-JSON patch and changes nothing', async () => {
    await twins.desire('th-1', { setpoint: 21 });
    events.length = 0;
    const writes = sinon.spy(store, 'putState');
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 12; i++) deep = { d: deep };
    const hostile = JSON.parse('{"setpoint": 22, "nested": {"__proto__": {"polluted": true}}}') as unknown;
    await rejects(twins.desire('th-1', { blob: 'x'.repeat(70_000) }), 'TWIN_TOO_LARGE', 'payload');
    await rejects(twins.desire('th-1', deep), 'PAYLOAD_TOO_DEEP', 'payload');
    await rejects(twins.desire('th-1', hostile), 'HOSTILE_KEY', 'payload.nested');
    await rejects(twins.report('th-1', { constructor: 1 }), 'HOSTILE_KEY', 'payload');
    await rejects(twins.desire('th-1', { at: new Date() }), 'INVALID_FIELD', 'payload.at');
    await rejects(twins.desire('th-1', { n: NaN }), 'INVALID_FIELD', 'payload.n');
    await rejects(twins.desire('th-1', [1, 2]), 'INVALID_FIELD', 'payload');
    await rejects(twins.desire('th-1', 'setpoint=22'), 'INVALID_FIELD', 'payload');
    const twin = await twins.get('th-1');
    assert.deepStrictEqual([twin.desired, twin.desiredVersion], [{ setpoint: 21 }, 1]);
    assert.strictEqual(({} as Record<string, unknown>).polluted, undefined);
    assert.strictEqual(writes.callCount, 0);
    assert.deepStrictEqual(events, []);
  });

  it('a document that grows past the cap over several patches is refused on the patch that would pass it', async () => {
    await twins.desire('th-1', { a: 'x'.repeat(40_000) });
    await rejects(twins.desire('th-1', { b: 'y'.repeat(30_000) }), 'TWIN_TOO_LARGE');
    assert.deepStrictEqual(Object.keys((await twins.get('th-1')).desired), ['a']);
  });

  it('fails with DEVICE_NOT_FOUND for an unknown device and INVALID_DEVICE_ID for a bad id, storing nothing', async () => {
    await rejects(twins.desire('nobody', { setpoint: 20 }), 'DEVICE_NOT_FOUND', 'deviceId');
    await rejects(twins.report('nobody', { setpoint: 20 }), 'DEVICE_NOT_FOUND', 'deviceId');
    await rejects(twins.get('nobody'), 'DEVICE_NOT_FOUND', 'deviceId');
    await rejects(twins.desire('a/b', { setpoint: 20 }), 'INVALID_DEVICE_ID', 'deviceId');
    assert.deepStrictEqual((await registry.state(TWIN_NAMESPACE)).keys(), []);
  });

  it('acknowledges a change only once the store has it, and a refused write leaves the twin as it was', async () => {
    let release: () => void = () => undefined;
    store.hold = new Promise<void>((resolve) => (release = resolve));
    let acknowledged = false;
    const pending = twins.desire('th-1', { setpoint: 21 }).then(() => (acknowledged = true));
    await clock.tickAsync(0);
    assert.strictEqual(acknowledged, false);
    assert.strictEqual(events.length, 0, 'no event before the store has it');
    release();
    store.hold = undefined;
    await pending;
    store.failNext = true;
    await rejects(twins.desire('th-1', { setpoint: 25 }), 'STORE_WRITE_FAILED');
    const twin = await twins.get('th-1');
    assert.deepStrictEqual([twin.desired, twin.desiredVersion], [{ setpoint: 21 }, 1]);
    assert.deepStrictEqual(
      events.map((e) => e.desiredVersion),
      [1],
    );
  });

  it('runs the operations of a device in the order they were asked, while a write is still pending', async () => {
    let release: () => void = () => undefined;
    store.hold = new Promise<void>((resolve) => (release = resolve));
    store.failNext = true; // the first write fails: the ones after it must build on what was stored
    const first = twins.desire('th-1', { setpoint: 21 });
    const second = twins.desire('th-1', { mode: 'heat' }, { ifVersion: 0 });
    const read = twins.get('th-1');
    release();
    store.hold = undefined;
    await rejects(first, 'STORE_WRITE_FAILED');
    assert.deepStrictEqual((await second).twin.desired, { mode: 'heat' });
    assert.deepStrictEqual((await read).desired, { mode: 'heat' }, 'get sees the operations asked before it');
  });

  it('removing the device removes its twin; registered again, it starts empty', async () => {
    await twins.desire('th-1', { setpoint: 21 });
    await registry.remove('th-1');
    await clock.tickAsync(0);
    assert.deepStrictEqual((await registry.state(TWIN_NAMESPACE)).keys(), []);
    await registry.register({ id: 'th-1', type: 'thermostat' });
    const twin = await twins.get('th-1');
    assert.deepStrictEqual([twin.desired, twin.desiredVersion], [{}, 0]);
  });

  it('refuses a twin stored by a newer version (STORE_TOO_NEW) or unreadable (STORE_CORRUPT), and leaves it as it is', async () => {
    const state = await registry.state(TWIN_NAMESPACE);
    const newer = { v: 2, desired: { doc: {}, version: 3, updatedAt: {} }, reported: { doc: {}, version: 0, updatedAt: {} } };
    await state.set('th-1', newer);
    await rejects(twins.desire('th-1', { setpoint: 21 }), 'STORE_TOO_NEW', 'store');
    await rejects(twins.get('th-1'), 'STORE_TOO_NEW');
    assert.strictEqual(state.get('th-1'), newer);
    await state.set('th-1', { v: 1, desired: { doc: { __proto__: 1 } } });
    await rejects(twins.report('th-1', { setpoint: 21 }), 'STORE_CORRUPT', 'store');
  });

  it('reads a twin written by another process (as loaded from a file or Redis) and builds on it', async () => {
    const state = await registry.state(TWIN_NAMESPACE);
    await state.set(
      'th-1',
      JSON.parse(
        JSON.stringify({ v: 1, desired: { doc: { setpoint: 19 }, version: 4, updatedAt: { setpoint: 5 } }, reported: { doc: {}, version: 0, updatedAt: {} } }),
      ),
    );
    const { twin } = await twins.desire('th-1', { mode: 'heat' });
    assert.deepStrictEqual([twin.desired, twin.desiredVersion, twin.metadata.desired], [{ setpoint: 19, mode: 'heat' }, 5, { setpoint: 5, mode: START }]);
  });

  it('twinsOf shares one service per registry, so a device event is handled once', async () => {
    const [a, b] = await Promise.all([twinsOf(registry), twinsOf(registry)]);
    assert.strictEqual(a, b);
    a.close();
  });
});
