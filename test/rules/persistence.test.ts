import assert from 'assert';
import sinon from 'sinon';
import { compileRules, RuleEngine, RulePersistence, type AlarmEvent, type PersistedDevice, type RuleDefinition, type StateBackend } from '../../lib/rules';

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
    assert.deepStrictEqual(backend.data.get('meta'), { v: 2, clean: true });

    const second = start(backend);
    assert.deepStrictEqual(second.engine.list().map((a) => a.rule), ['hot']);
    assert.strictEqual(second.engine.process('d1', { temp: 36 }, {}), null, 'no duplicate raise');
    clock.tick(200_000);
    assert.deepStrictEqual(second.events.map((e) => `${e.event}:${e.deviceId}:${e.rule}`), ['raised:d1:slow']);
    clock.tick(300_000);
    // d2 was last seen 600 s ago (before the stop): the exact last-seen time came back
    assert.deepStrictEqual(second.events.map((e) => `${e.event}:${e.deviceId}:${e.rule}`), ['raised:d1:slow', 'raised:d2:stale']);
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
    assert.deepStrictEqual(second.events.map((e) => e.rule), ['stale']);
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
    assert.deepStrictEqual((backend.data.get('d:d1') as PersistedDevice).alarms.map((a) => a.rule), ['stale']);
    engine.removeDevice('d1');
    clock.tick(0);
    assert.strictEqual(backend.data.has('d:d1'), false);
    await persistence.clear();
    assert.deepStrictEqual(backend.keys(), []);
    engine.close();
  });
});
