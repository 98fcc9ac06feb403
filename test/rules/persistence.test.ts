import assert from 'assert';
import sinon from 'sinon';
import {
  compileRules,
  KeptStates,
  RuleEngine,
  RulePersistence,
  type AlarmEvent,
  type NodeContextStore,
  type PersistedDevice,
  type RuleDefinition,
  type StateBackend,
} from '../../lib/rules';

function mapBackend(): StateBackend & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    get: (k) => data.get(k),
    set: (k, v) => void data.set(k, JSON.parse(JSON.stringify(v))),
    delete: (k) => void data.delete(k),
    keys: () => [...data.keys()],
  };
}

const RULES: RuleDefinition[] = [
  { name: 'hot', metric: 'temp', severity: 'major', raise: { op: '>', value: 30 } },
  { name: 'stale', metric: 'temp', severity: 'warning', raise: { op: 'nodata', value: 600 } },
  { name: 'slow', metric: 'hum', severity: 'minor', raise: { op: '>', value: 80 }, raiseDelay: 300 },
];

function start(backend: StateBackend): { engine: RuleEngine; persistence: RulePersistence; events: AlarmEvent[] } {
  const events: AlarmEvent[] = [];
  const persistence = new RulePersistence(backend);
  const engine = new RuleEngine({ rules: compileRules(RULES), onChange: persistence.changed, onTimerEvents: (e) => events.push(...e) });
  persistence.load(engine);
  return { engine, persistence, events };
}

describe('rule state persistence', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => clock.restore());

  it('writes changed devices after the tick, and a clean stop and start neither re-raises nor forgets', async () => {
    const backend = mapBackend();
    const first = start(backend);
    first.engine.process('d1', { temp: 35, hum: 90 }, {});
    first.engine.process('d2', { temp: 20 }, {});
    clock.tick(0);
    assert.ok(backend.data.has('d:d1'), 'written without waiting for close');
    clock.tick(100_000);
    first.engine.close();
    await first.persistence.close();
    assert.deepStrictEqual(backend.data.get('meta'), { v: 3, clean: true });

    const second = start(backend);
    assert.deepStrictEqual(
      second.engine.list().map((a) => a.rule),
      ['hot'],
    );
    assert.strictEqual(second.engine.process('d1', { temp: 36 }, {}), null, 'no duplicate raise');
    clock.tick(200_000);
    assert.deepStrictEqual(
      second.events.map((e) => `${e.event}:${e.deviceId}:${e.rule}`),
      ['raised:d1:slow'],
    );
    clock.tick(300_000);
    // d2 was last seen 600 s ago (before the stop): the exact last-seen time came back
    assert.deepStrictEqual(
      second.events.map((e) => `${e.event}:${e.deviceId}:${e.rule}`),
      ['raised:d1:slow', 'raised:d2:stale'],
    );
    second.engine.close();
  });

  it('after a crash (no clean close) a silent device gets a full no-data period rather than a false stale alarm', async () => {
    const backend = mapBackend();
    const first = start(backend);
    first.engine.process('d2', { temp: 20 }, {});
    clock.tick(590_000); // flushes the batch; then the process dies without close
    first.engine.close();
    const second = start(backend);
    clock.tick(599_000);
    assert.strictEqual(second.events.length, 0);
    clock.tick(1000);
    assert.deepStrictEqual(
      second.events.map((e) => e.rule),
      ['stale'],
    );
    second.engine.close();
  });

  it('a cleared device is deleted from the backend, and clear() removes everything', async () => {
    const backend = mapBackend();
    const { engine, persistence } = start(backend);
    engine.process('d1', { temp: 35 }, {});
    clock.tick(0);
    engine.process('d1', { temp: 20 }, {});
    clock.tick(0);
    // the no-data rule still watches d1
    assert.deepStrictEqual(
      (backend.data.get('d:d1') as PersistedDevice).alarms.map((a) => a.rule),
      ['stale'],
    );
    engine.removeDevice('d1');
    clock.tick(0);
    assert.strictEqual(backend.data.has('d:d1'), false);
    await persistence.clear();
    assert.deepStrictEqual(backend.keys(), []);
    engine.close();
  });
  // what the first release wrote: per rule [flags, count, deadline, raisedAt, value, thrLo, thrHi, shelvedUntil, seenAt]
  const V1_ACTIVE_HOT = { hot: [1, 0, 1_699_999_000_000, 1_699_999_000_000, 35, 30, null, null, null] };
  const V1_SLOW_PENDING = { slow: [8, 1, 1_700_000_100_000, null, 90, 80, null, null, null] };

  it("reads the first release's format (flag bits) and writes it back with named fields", async () => {
    const backend = mapBackend();
    backend.data.set('meta', { v: 1, clean: true });
    backend.data.set('d:d1', { ...V1_ACTIVE_HOT, ...V1_SLOW_PENDING });
    const { engine, events } = start(backend);
    assert.deepStrictEqual(
      engine.list().map((a) => [a.deviceId, a.rule, a.raisedAt]),
      [['d1', 'hot', 1_699_999_000_000]],
    );
    assert.strictEqual(engine.process('d1', { temp: 36 }, {}), null, 'no duplicate raise');
    clock.tick(100_000);
    assert.deepStrictEqual(
      events.map((e) => `${e.event}:${e.rule}`),
      ['raised:slow'],
      'the pending delay came back',
    );
    clock.tick(1); // the batch write
    const saved = backend.data.get('d:d1') as PersistedDevice;
    assert.strictEqual(saved.v, 3);
    assert.deepStrictEqual(
      saved.alarms.filter((a) => a.active).map((a) => a.rule),
      ['hot', 'slow'],
    );
    engine.close();
  });

  it('reads format 2 (before levels, reminders and windows) and saves it again as format 3', async () => {
    const backend = mapBackend();
    backend.data.set('meta', { v: 2, clean: true });
    backend.data.set('d:d1', { v: 2, alarms: [{ rule: 'hot', active: true, raisedAt: 1_699_999_000_000, value: 35, thresholdLo: 30 }] });
    const { engine, persistence } = start(backend);
    assert.deepStrictEqual(
      engine.list().map((a) => [a.deviceId, a.rule, a.value, a.threshold]),
      [['d1', 'hot', 35, 30]],
    );
    assert.strictEqual(engine.process('d1', { temp: 36 }, {}), null, 'no duplicate raise');
    engine.close();
    await persistence.close();
    const saved = backend.data.get('d:d1') as PersistedDevice;
    assert.strictEqual(saved.v, 3);
    assert.deepStrictEqual(
      saved.alarms.filter((a) => a.active).map((a) => a.rule),
      ['hot'],
    );
  });

  for (const [what, key, value] of [
    ['meta', 'meta', { v: 4, clean: true }],
    ['a device record', 'd:d1', { v: 4, alarms: [] }],
  ] as const) {
    it(`state of a newer format (${what}) is refused with STORE_TOO_NEW and never written over`, async () => {
      const backend = mapBackend();
      backend.data.set(key, value);
      const before = JSON.stringify([...backend.data]);
      const persistence = new RulePersistence(backend);
      const engine = new RuleEngine({ rules: compileRules(RULES), onChange: persistence.changed });
      assert.throws(
        () => persistence.load(engine),
        (err: Error & { code?: string }) => err.code === 'STORE_TOO_NEW' && /format 4/.test(err.message),
      );
      engine.process('d1', { temp: 35 }, {});
      clock.tick(0);
      await persistence.close();
      assert.strictEqual(JSON.stringify([...backend.data]), before);
      engine.close();
    });
  }

  it('a record it cannot read is reported and left in place; the others load', () => {
    const backend = mapBackend();
    backend.data.set('d:bad', { v: 2, alarms: 'lots' });
    backend.data.set('d:d1', { v: 2, alarms: [{ rule: 'hot', active: true, raisedAt: 1 }] });
    const warnings: string[] = [];
    const persistence = new RulePersistence(backend, (m) => warnings.push(m));
    const engine = new RuleEngine({ rules: compileRules(RULES), onChange: persistence.changed });
    assert.strictEqual(persistence.load(engine), 1);
    assert.deepStrictEqual(warnings, ['alarm state of 1 device(s) could not be read and is left as it is: bad (alarms is not a list)']);
    assert.deepStrictEqual(backend.data.get('d:bad'), { v: 2, alarms: 'lots' });
    engine.close();
  });

  it("a rule node's context of the first release (a key per device, a.b.c taken for a path) is read into one value", async () => {
    // Node-RED stored `d:a.b.c` as key `d:a` holding { b: { c: ... } }
    const context = new Map<string, unknown>([
      ['meta', { v: 1, clean: true }],
      ['d:a', { b: { c: V1_ACTIVE_HOT } }],
      ['d:plain', V1_ACTIVE_HOT],
    ]);
    const store: NodeContextStore = {
      get: (key, cb) => cb(null, context.get(key)),
      set: (key, value, cb) => {
        if (value === undefined) context.delete(key);
        else context.set(key, value);
        cb();
      },
      keys: (cb) => cb(null, [...context.keys()]),
    };
    const kept = await new KeptStates().open('node-1', store);
    const { engine } = start(kept);
    assert.deepStrictEqual(
      engine
        .list()
        .map((a) => a.deviceId)
        .sort(),
      ['a.b.c', 'plain'],
    );
    assert.deepStrictEqual([...context.keys()], ['m2mRuleState'], 'the old keys were replaced by the one value');
    engine.close();
  });
});
