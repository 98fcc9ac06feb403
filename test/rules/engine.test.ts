import assert from 'assert';
import sinon from 'sinon';
import { compileRules, RuleEngine, type AlarmEvent, type DeviceFacts, type PersistedAlarm, type RuleDefinition } from '../../lib/rules';

type Def = Partial<RuleDefinition> & Pick<RuleDefinition, 'raise'>;

function rule(def: Def): RuleDefinition {
  return { name: 'r', metric: 'temp', severity: 'major', ...def } as RuleDefinition;
}

function setup(defs: Def[], devices: Record<string, DeviceFacts> = {}) {
  const events: AlarmEvent[] = [];
  const engine = new RuleEngine({
    rules: compileRules(defs.map(rule)),
    lookup: (id) => devices[id],
    onTimerEvents: (e) => events.push(...e),
  });
  const send = (value: unknown, deviceId = 'd1', extra: Record<string, unknown> = {}, metric = 'temp'): AlarmEvent[] => {
    const msg = { deviceId, payload: { [metric]: value }, ...extra };
    const out = engine.process(deviceId, msg.payload, msg, extra.timestamp) ?? [];
    events.push(...out);
    return out;
  };
  const names = (): string[] => events.map((e) => `${e.event}:${e.deviceId}:${e.rule}`);
  return { engine, events, send, names };
}

describe('rule engine', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(() => clock.restore());

  describe('conditions', () => {
    const cases: Array<[string, Partial<RuleDefinition['raise']>, number[], number[]]> = [
      ['>', { value: 30 }, [31, 30.5], [30, 29]],
      ['>=', { value: 30 }, [30, 31], [29.9]],
      ['<', { value: 5 }, [4.9, -1], [5, 6]],
      ['<=', { value: 5 }, [5, 4], [5.1]],
      ['==', { value: 1 }, [1], [0, 2]],
      ['!=', { value: 0 }, [1, -3], [0]],
      ['between', { value: 10, value2: 20 }, [10, 15, 20], [9.9, 20.1]],
      ['outside', { value: 10, value2: 20 }, [9.9, 20.1], [10, 15, 20]],
    ];
    for (const [op, extra, raising, normal] of cases) {
      it(`${op} raises on ${raising.join(', ')} and not on ${normal.join(', ')}`, () => {
        for (const v of raising) {
          const { send } = setup([{ raise: { op: op as 'between', ...extra } }]);
          const out = send(v);
          assert.deepStrictEqual(
            out.map((e) => e.event),
            ['raised'],
            `${op} ${v}`,
          );
          assert.strictEqual(out[0].value, v);
        }
        for (const v of normal) {
          const { send } = setup([{ raise: { op: op as 'between', ...extra } }]);
          assert.deepStrictEqual(send(v), [], `${op} ${v}`);
        }
      });
    }

    it('between and outside report both bounds as the threshold', () => {
      const { send } = setup([{ raise: { op: 'outside', value: 10, value2: 20 } }]);
      assert.deepStrictEqual(send(25)[0].threshold, [10, 20]);
    });

    it('booleans compare as 1 and 0 (door == 1)', () => {
      const { send } = setup([{ metric: 'door', raise: { op: '==', value: 1 } }]);
      assert.strictEqual(send(true, 'd1', {}, 'door')[0].event, 'raised');
      assert.strictEqual(send(false, 'd1', {}, 'door')[0].event, 'cleared');
    });

    it('rate of change per second raises when the rise is faster than the limit, and clears when it slows', () => {
      const { send } = setup([{ raise: { op: 'rate', value: 0.5, per: 's', direction: 'rise' } }]);
      assert.deepStrictEqual(send(20, 'd1', { timestamp: 0 }), [], 'first sample has no rate');
      assert.deepStrictEqual(send(24, 'd1', { timestamp: 10_000 }), [], '0.4/s');
      const raised = send(30, 'd1', { timestamp: 20_000 });
      assert.strictEqual(raised[0].event, 'raised', '0.6/s');
      assert.deepStrictEqual(
        send(25, 'd1', { timestamp: 30_000 }).map((e) => e.event),
        ['cleared'],
        'falling does not count as a rise',
      );
    });

    it('rate of change per minute in either direction uses the magnitude', () => {
      const { send } = setup([{ raise: { op: 'rate', value: 3, per: 'min' } }]);
      send(20, 'd1', { timestamp: 0 });
      assert.deepStrictEqual(send(18, 'd1', { timestamp: 60_000 }), [], '2/min');
      assert.strictEqual(send(14, 'd1', { timestamp: 120_000 })[0].event, 'raised', '4/min falling');
    });

    it('without msg.timestamp the rate is measured on the clock', () => {
      const { send } = setup([{ raise: { op: 'rate', value: 1, per: 's' } }]);
      send(0);
      clock.tick(1000);
      assert.deepStrictEqual(send(0.5), []);
      clock.tick(1000);
      assert.strictEqual(send(3)[0].event, 'raised');
    });

    it('no data for T: a timer raises a stale alarm for a silent device, the next sample clears it', () => {
      const { send, events, names } = setup([{ name: 'stale', raise: { op: 'nodata', value: 60 }, severity: 'warning' }]);
      send(5);
      clock.tick(59_000);
      send(5); // still reporting: silence restarts
      clock.tick(59_999);
      assert.strictEqual(events.length, 0);
      clock.tick(1);
      assert.deepStrictEqual(names(), ['raised:d1:stale']);
      assert.strictEqual(events[0].threshold, 60);
      assert.strictEqual(events[0].value, 5);
      clock.tick(600_000);
      assert.strictEqual(events.length, 1, 'raised once, not again while silent');
      send(6);
      assert.deepStrictEqual(names(), ['raised:d1:stale', 'cleared:d1:stale']);
      clock.tick(60_000);
      assert.deepStrictEqual(names().length, 3, 'silent again: raised again');
    });
  });

  describe('hysteresis and oscillation', () => {
    const freezer: Def = { raise: { op: '>', value: 30 }, clear: { op: '<', value: 28 } };

    it('raises above 30 and clears only below 28', () => {
      const { send, names } = setup([freezer]);
      send(31);
      send(29);
      send(28);
      assert.deepStrictEqual(names(), ['raised:d1:r']);
      send(27.9);
      assert.deepStrictEqual(names(), ['raised:d1:r', 'cleared:d1:r']);
    });

    it('a value hovering around the threshold raises once and clears once, not a storm', () => {
      const { send, names } = setup([freezer]);
      for (let i = 0; i < 200; i++) send(i % 2 ? 30.2 : 29.8);
      send(25);
      assert.deepStrictEqual(names(), ['raised:d1:r', 'cleared:d1:r']);
    });

    it('without hysteresis an oscillating value still gives at most one raise per excursion, and a raise delay damps it', () => {
      const { send, names } = setup([{ raise: { op: '>', value: 30 }, raiseDelay: 60 }]);
      for (let i = 0; i < 100; i++) {
        send(i % 2 ? 30.5 : 29.5);
        clock.tick(10_000);
      }
      assert.deepStrictEqual(names(), []);
    });
  });

  describe('delays', () => {
    it('raise delay T: raises only when the condition held for T, by timer, without another sample', () => {
      const { send, names, events } = setup([{ raise: { op: '>', value: 30 }, raiseDelay: 300 }]);
      send(31);
      clock.tick(299_999);
      assert.deepStrictEqual(names(), []);
      clock.tick(1);
      assert.deepStrictEqual(names(), ['raised:d1:r']);
      assert.strictEqual(events[0].raisedAt, Date.now());
    });

    it('raise delay T is cancelled by a sample back in range', () => {
      const { send, names } = setup([{ raise: { op: '>', value: 30 }, raiseDelay: 300 }]);
      send(31);
      clock.tick(200_000);
      send(29);
      clock.tick(200_000);
      send(31);
      clock.tick(299_000);
      assert.deepStrictEqual(names(), []);
      clock.tick(1000);
      assert.deepStrictEqual(names(), ['raised:d1:r']);
    });

    it('raise after N consecutive samples; one normal sample restarts the count', () => {
      const { send, names } = setup([{ raise: { op: '>', value: 30 }, raiseSamples: 3 }]);
      send(31);
      send(31);
      send(29);
      send(31);
      send(31);
      assert.deepStrictEqual(names(), []);
      send(31);
      assert.deepStrictEqual(names(), ['raised:d1:r']);
    });

    it('T and N together: both must hold', () => {
      const { send, names } = setup([{ raise: { op: '>', value: 30 }, raiseDelay: 60, raiseSamples: 3 }]);
      send(31);
      clock.tick(70_000);
      assert.deepStrictEqual(names(), [], 'time passed but one sample');
      send(31);
      send(31);
      assert.deepStrictEqual(names(), ['raised:d1:r']);
    });

    it('clear delay T2: clears only when the clear condition held for T2', () => {
      const { send, names } = setup([{ raise: { op: '>', value: 30 }, clear: { op: '<', value: 28 }, clearDelay: 120 }]);
      send(31);
      send(27);
      clock.tick(100_000);
      send(29); // out of the clear band: T2 starts over
      send(27);
      clock.tick(119_999);
      assert.deepStrictEqual(names(), ['raised:d1:r']);
      clock.tick(1);
      assert.deepStrictEqual(names(), ['raised:d1:r', 'cleared:d1:r']);
    });
  });

  it('escalation: an alarm still active after T moves to the higher severity once', () => {
    const { send, events } = setup([{ raise: { op: '>', value: 30 }, severity: 'minor', escalateAfter: 600, escalateTo: 'critical' }]);
    send(31);
    clock.tick(599_999);
    assert.strictEqual(events.length, 1);
    clock.tick(1);
    assert.deepStrictEqual(
      events.map((e) => [e.event, e.severity]),
      [
        ['raised', 'minor'],
        ['escalated', 'critical'],
      ],
    );
    clock.tick(3_600_000);
    send(32);
    assert.strictEqual(events.length, 2, 'escalated once');
    send(20);
    assert.deepStrictEqual(events[2], { ...events[2], event: 'cleared', severity: 'critical', active: false });
  });

  it('escalation does not happen when the alarm cleared before T', () => {
    const { send, events } = setup([{ raise: { op: '>', value: 30 }, severity: 'minor', escalateAfter: 600, escalateTo: 'major' }]);
    send(31);
    clock.tick(300_000);
    send(20);
    clock.tick(600_000);
    assert.deepStrictEqual(
      events.map((e) => e.event),
      ['raised', 'cleared'],
    );
  });

  describe('lifecycle', () => {
    it('raised unacknowledged, acknowledged, cleared; the event carries the contract fields', () => {
      const { engine, send, events } = setup([
        { name: 'too-warm', raise: { op: '>', value: 30 }, text: '{{deviceId}}: {{metric}} {{value}} above {{threshold}}' },
      ]);
      send(31.5, 'fr-1');
      const raisedAt = Date.now();
      clock.tick(5000);
      events.push(...engine.control('ack', 'fr-1', 'too-warm'));
      clock.tick(5000);
      send(25, 'fr-1');
      assert.deepStrictEqual(events[0], {
        alarmId: `fr-1:too-warm:${raisedAt}`,
        deviceId: 'fr-1',
        rule: 'too-warm',
        metric: 'temp',
        severity: 'major',
        event: 'raised',
        active: true,
        acknowledged: false,
        value: 31.5,
        threshold: 30,
        raisedAt,
        ts: raisedAt,
        text: 'fr-1: temp 31.5 above 30',
      });
      assert.deepStrictEqual(
        events.map((e) => [e.event, e.active, e.acknowledged, e.alarmId]),
        [
          ['raised', true, false, `fr-1:too-warm:${raisedAt}`],
          ['acknowledged', true, true, `fr-1:too-warm:${raisedAt}`],
          ['cleared', false, true, `fr-1:too-warm:${raisedAt}`],
        ],
      );
      assert.strictEqual(events[2].ts, raisedAt + 10_000);
    });

    it('a list (what the sidebar, the admin API and the dashboard read after a deploy) carries the text of the raise', () => {
      const { engine, send } = setup([{ name: 'too-warm', raise: { op: '>', value: 30 }, text: '{{deviceId}}: {{metric}} {{value}} above {{threshold}}' }]);
      send(31.5, 'fr-1');
      clock.tick(5000);
      send(33, 'fr-1');
      assert.deepStrictEqual(
        engine.list().map((a) => [a.deviceId, a.text]),
        [['fr-1', 'fr-1: temp 33 above 30']],
      );
    });

    it('ack of an acknowledged or inactive alarm emits nothing', () => {
      const { engine, send } = setup([{ raise: { op: '>', value: 30 } }]);
      assert.deepStrictEqual(engine.control('ack', 'd1', 'r'), []);
      send(31);
      assert.strictEqual(engine.control('ack', 'd1').length, 1);
      assert.deepStrictEqual(engine.control('ack', 'd1'), []);
    });

    it('latch: a cleared alarm stays active until acknowledged, then clears', () => {
      const { engine, send, events } = setup([{ raise: { op: '>', value: 30 }, latch: true }]);
      send(31);
      send(20);
      assert.deepStrictEqual(
        events.map((e) => e.event),
        ['raised'],
      );
      assert.deepStrictEqual(
        engine.list().map((a) => [a.active, a.conditionCleared]),
        [[true, true]],
      );
      events.push(...engine.control('ack', 'd1', 'r'));
      assert.deepStrictEqual(
        events.map((e) => [e.event, e.active]),
        [
          ['raised', true],
          ['acknowledged', true],
          ['cleared', false],
        ],
      );
      assert.deepStrictEqual(engine.list(), []);
    });

    it('latch: an alarm acknowledged while active clears as soon as the condition does', () => {
      const { engine, send, events } = setup([{ raise: { op: '>', value: 30 }, latch: true }]);
      send(31);
      engine.control('ack', 'd1', 'r');
      send(20);
      assert.deepStrictEqual(
        events.map((e) => e.event),
        ['raised', 'cleared'],
      );
    });

    it('shelve: no events while shelved; unshelve announces an alarm that came up meanwhile', () => {
      const { engine, send, events } = setup([{ raise: { op: '>', value: 30 } }]);
      events.push(...engine.control('shelve', 'd1', 'r', 3_600_000));
      send(31);
      send(20);
      send(31);
      assert.deepStrictEqual(
        events.map((e) => e.event),
        ['shelved'],
      );
      events.push(...engine.control('unshelve', 'd1', 'r'));
      assert.deepStrictEqual(
        events.map((e) => [e.event, e.active]),
        [
          ['shelved', false],
          ['unshelved', true],
          ['raised', true],
        ],
      );
      send(20);
      assert.strictEqual(events[3].event, 'cleared');
    });

    it('shelving ends by itself after the period', () => {
      const { engine, send, events } = setup([{ raise: { op: '>', value: 30 } }]);
      send(31);
      events.push(...engine.control('shelve', 'd1', undefined, 60_000));
      send(20);
      send(31);
      clock.tick(59_999);
      assert.deepStrictEqual(
        events.map((e) => e.event),
        ['raised', 'shelved'],
      );
      clock.tick(1);
      assert.deepStrictEqual(
        events.map((e) => e.event),
        ['raised', 'shelved', 'unshelved', 'raised'],
      );
      assert.strictEqual(engine.list()[0].shelved, false);
    });

    it('reset clears an active alarm and forgets delays and shelving', () => {
      const { engine, send, events } = setup([{ raise: { op: '>', value: 30 }, raiseDelay: 60 }]);
      send(31);
      clock.tick(60_000);
      events.push(...engine.control('shelve', 'd1', 'r', 1e6));
      events.push(...engine.control('reset', 'd1', 'r'));
      assert.deepStrictEqual(
        events.map((e) => [e.event, e.active]),
        [
          ['raised', true],
          ['shelved', true],
          ['cleared', false],
        ],
      );
      assert.deepStrictEqual(engine.list(), []);
      send(31);
      clock.tick(59_000);
      assert.strictEqual(events.length, 3, 'the delay starts over');
    });

    it('list returns the active alarms of every device, or of one', () => {
      const { engine, send } = setup([{ raise: { op: '>', value: 30 } }, { name: 'cold', raise: { op: '<', value: 0 } }]);
      send(31, 'a');
      send(-5, 'b');
      send(10, 'c');
      assert.deepStrictEqual(
        engine
          .list()
          .map((a) => `${a.deviceId}/${a.rule}`)
          .sort(),
        ['a/r', 'b/cold'],
      );
      assert.deepStrictEqual(
        engine.list('b').map((a) => a.rule),
        ['cold'],
      );
    });
  });

  describe('thresholds and scope', () => {
    const devices: Record<string, DeviceFacts> = {
      f1: { type: 'freezer', tags: ['hall-a'], attributes: { maxTemp: -15 } },
      f2: { type: 'freezer', tags: [], attributes: { maxTemp: -18 } },
      c1: { type: 'chiller', tags: ['hall-a'], attributes: {} },
    };

    it("a device attribute from the registry is each device's own threshold", () => {
      const { send, names, events } = setup([{ raise: { op: '>', value: 'maxTemp', valueType: 'attr' } }], devices);
      send(-16, 'f1');
      send(-16, 'f2');
      assert.deepStrictEqual(names(), ['raised:f2:r']);
      assert.strictEqual(events[0].threshold, -18);
    });

    it('a msg property threshold', () => {
      const { send, events } = setup([{ raise: { op: '>', value: 'limits.max', valueType: 'msg' } }]);
      send(5, 'd1', { limits: { max: 4 } });
      assert.strictEqual(events[0].threshold, 4);
    });

    it('scope by device type and by tag', () => {
      const { send, names } = setup(
        [
          { name: 'byType', raise: { op: '>', value: 0 }, scope: 'type', scopeValue: 'freezer' },
          { name: 'byTag', raise: { op: '>', value: 0 }, scope: 'tag', scopeValue: 'hall-a' },
        ],
        devices,
      );
      for (const id of ['f1', 'f2', 'c1', 'unknown']) send(1, id);
      assert.deepStrictEqual(names().sort(), ['raised:c1:byTag', 'raised:f1:byTag', 'raised:f1:byType', 'raised:f2:byType']);
    });

    it('a device moved out of scope stops being evaluated after invalidateScope', () => {
      const facts: Record<string, DeviceFacts> = { x: { type: 'b', tags: [], attributes: {} } };
      const { engine, send, names } = setup([{ raise: { op: '>', value: 0 }, scope: 'type', scopeValue: 'b' }], facts);
      send(-1, 'x');
      facts.x = { type: 'a', tags: [], attributes: {} };
      engine.invalidateScope('x');
      send(1, 'x');
      assert.deepStrictEqual(names(), []);
      facts.x = { type: 'b', tags: [], attributes: {} };
      engine.invalidateScope('x');
      send(1, 'x');
      assert.deepStrictEqual(names(), ['raised:x:r']);
    });

    it('metrics no rule uses are ignored', () => {
      const { engine } = setup([{ raise: { op: '>', value: 0 } }]);
      assert.strictEqual(engine.process('d1', { humidity: 'not a number', other: {} }, {}), null);
      assert.strictEqual(engine.deviceCount, 0);
    });
  });

  describe('bad input leaves the state unchanged', () => {
    const defs: Def[] = [
      { name: 'hot', raise: { op: '>', value: 30 }, raiseSamples: 2 },
      { name: 'hum', metric: 'hum', raise: { op: '>', value: 'max', valueType: 'attr' } },
    ];

    it('a non-numeric value names the rule and the metric, and the other rules of the sample do not move either', () => {
      const { engine, send, names } = setup(defs, { d1: { type: 't', tags: [], attributes: { max: 50 } } });
      send(31); // hot: 1 of 2 samples
      for (const bad of ['31', null, {}, NaN, Infinity]) {
        assert.throws(
          () => engine.process('d1', { temp: 40, hum: bad }, {}),
          (err: Error & { code?: string }) => {
            return err.code === 'NOT_A_NUMBER' && /rule "hum" metric "hum"/.test(err.message);
          },
          String(bad),
        );
      }
      assert.deepStrictEqual(names(), [], 'the counter of "hot" did not advance');
      send(31);
      assert.deepStrictEqual(names(), ['raised:d1:hot']);
    });

    it('a missing attribute threshold names the rule, metric and attribute', () => {
      const { engine } = setup(defs, {});
      assert.throws(() => engine.process('d1', { hum: 60 }, {}), /rule "hum" metric "hum": threshold device attribute "max" of > is missing/);
    });

    it('a missing or invalid deviceId names the rules that needed it', () => {
      const { engine } = setup(defs);
      assert.throws(
        () => engine.process(undefined, { temp: 40 }, {}),
        (err: Error & { code?: string }) => err.code === 'INVALID_DEVICE_ID' && /msg\.deviceId must be a string.*rule "hot" \(temp\)/.test(err.message),
      );
      assert.throws(() => engine.process('a/b', { temp: 40 }, {}), /msg\.deviceId contains "\/"/);
      assert.throws(() => engine.process('d1', 42, {}), /msg\.payload must be an object of metrics, got 42/);
      assert.strictEqual(engine.deviceCount, 0);
    });

    it('malformed control messages', () => {
      const { engine, send } = setup(defs);
      send(31);
      send(31);
      assert.throws(() => engine.control('ack', undefined, 'hot'), /ack: msg\.deviceId must be a string/);
      assert.throws(() => engine.control('ack', 'd1', 'nope'), /ack: msg\.rule "nope" is not a rule of this node \(hot, hum\)/);
      assert.throws(() => engine.control('shelve', 'd1', 'hot', -5), /shelve: msg\.duration must be a positive number/);
      assert.throws(() => engine.control('shelve', 'd1', 'hot', 'soon'), /msg\.duration/);
      assert.deepStrictEqual(
        engine.list().map((a) => [a.rule, a.acknowledged, a.shelved]),
        [['hot', false, false]],
      );
    });
  });

  describe('memory', () => {
    it('a removed device is forgotten', () => {
      const { engine, send } = setup([{ raise: { op: '>', value: 30 }, raiseDelay: 10 }]);
      send(31, 'gone');
      engine.removeDevice('gone');
      clock.tick(20_000);
      assert.strictEqual(engine.deviceCount, 0);
      assert.deepStrictEqual(engine.list(), []);
    });

    it('idle devices without alarms are dropped; devices with an alarm are kept', () => {
      const events: AlarmEvent[] = [];
      const engine = new RuleEngine({
        rules: compileRules([rule({ raise: { op: '>', value: 30 } })]),
        idleMs: 3_600_000,
        onTimerEvents: (e) => events.push(...e),
      });
      engine.process('quiet', { temp: 20 }, {});
      engine.process('alarmed', { temp: 40 }, {});
      clock.tick(3_600_000 + 900_000);
      assert.strictEqual(engine.deviceCount, 1);
      assert.strictEqual(engine.list()[0].deviceId, 'alarmed');
      engine.close();
    });

    it('devices that idle out free their slots: the table shrinks, a new batch reuses it, and the devices kept still fire their timers', () => {
      const events: AlarmEvent[] = [];
      const hour = 3_600_000;
      const defs = [rule({ raise: { op: '>', value: 30 }, raiseDelay: 7200 }), rule({ name: 'low', raise: { op: '<', value: 0 } })];
      const engine = new RuleEngine({ rules: compileRules(defs), idleMs: hour, onTimerEvents: (e) => events.push(...e) });
      const batch = (prefix: string): void => {
        for (let i = 0; i < 1000; i++) engine.process(`${prefix}-${i}`, { temp: 20 }, {});
      };
      batch('first');
      engine.process('delayed', { temp: 40 }, {}); // raises from a timer in 2 h
      engine.control('shelve', 'shelved', 'low', 3 * hour);
      const grown = engine.slotCapacity;
      assert.ok(grown >= 1002);
      clock.tick(hour);
      engine.sweep();
      assert.strictEqual(engine.deviceCount, 2);
      assert.ok(engine.slotCapacity < grown / 4, `the table shrank (${engine.slotCapacity} slots)`);
      for (let round = 0; round < 3; round++) {
        batch(`round${round}`);
        assert.ok(engine.slotCapacity <= grown, 'a new batch of the same size does not grow the table beyond the first');
        clock.tick(hour);
        engine.sweep();
      }
      assert.deepStrictEqual(
        events.map((e) => `${e.event}:${e.deviceId}:${e.rule}`),
        ['raised:delayed:r', 'unshelved:shelved:low'],
      );
      engine.close();
    });

    it('at the device cap the least recently seen quiet devices make room', () => {
      const engine = new RuleEngine({ rules: compileRules([rule({ raise: { op: '>', value: 30 } })]), maxDevices: 10 });
      engine.process('hot', { temp: 40 }, {});
      for (let i = 0; i < 30; i++) {
        clock.tick(1);
        engine.process(`d${i}`, { temp: 1 }, {});
      }
      assert.ok(engine.deviceCount <= 10);
      assert.strictEqual(engine.list()[0].deviceId, 'hot');
      engine.close();
    });
  });

  describe('hostile names', () => {
    it('a rule on a metric named like an Object method (valueOf, toString) ignores messages without it and works with it', () => {
      const { send, names } = setup([
        { name: 'v', metric: 'valueOf', raise: { op: '>', value: 30 } },
        { name: 's', metric: 'toString', raise: { op: '>', value: 30 } },
      ]);
      assert.deepStrictEqual(send(20, 'd1', {}, 'temp'), [], 'a message without those metrics is not rejected');
      send(31, 'd1', {}, 'valueOf');
      send(31, 'd1', {}, 'toString');
      assert.deepStrictEqual(names(), ['raised:d1:v', 'raised:d1:s']);
    });

    it('a text template may use only the alarm event fields: {{constructor}} is refused at deploy, naming the rule', () => {
      assert.throws(
        () => compileRules([rule({ raise: { op: '>', value: 30 }, text: 'x {{constructor}} y' })]),
        (err: Error & { code?: string }) => {
          assert.strictEqual(err.code, 'INVALID_RULE');
          assert.match(err.message, /rule "r": text \{\{constructor\}\} is not a field; use \{\{event\}\}/);
          return true;
        },
      );
      const { send } = setup([{ raise: { op: '>', value: 30 }, text: '{{deviceId}} {{event}} {{value}}/{{threshold}} {{severity}}' }]);
      assert.strictEqual(send(31)[0].text, 'd1 raised 31/30 major');
    });
  });

  describe('alarm event shape', () => {
    it('event, severity, deviceId and rule come first, so the debug sidebar shows them collapsed; the contract fields are all there', () => {
      const { send } = setup([{ raise: { op: '>', value: 30 } }]);
      const event = send(31)[0];
      assert.deepStrictEqual(Object.keys(event).slice(0, 5), ['event', 'severity', 'deviceId', 'rule', 'text']);
      assert.deepStrictEqual(Object.keys(event).sort(), [
        'acknowledged',
        'active',
        'alarmId',
        'deviceId',
        'event',
        'metric',
        'raisedAt',
        'rule',
        'severity',
        'text',
        'threshold',
        'ts',
        'value',
      ]);
    });

    it('the default text reads right for raised and for cleared, with a clear condition or without', () => {
      const { send, events } = setup([
        { raise: { op: '>', value: 30 }, clear: { op: '<', value: 28 } },
        { name: 'auto', metric: 'hum', raise: { op: '>=', value: 80 } },
        { name: 'band', metric: 'p', raise: { op: 'outside', value: 950, value2: 1050 } },
      ]);
      send(31);
      send(27);
      send(85, 'd1', {}, 'hum');
      send(79, 'd1', {}, 'hum');
      send(1060, 'd1', {}, 'p');
      send(1000, 'd1', {}, 'p');
      assert.deepStrictEqual(
        events.map((e) => e.text),
        [
          'd1 r raised: temp 31 above 30',
          'd1 r cleared: temp 27 below 28',
          'd1 auto raised: hum 85 at or above 80',
          'd1 auto cleared: hum 79, no longer at or above 80',
          'd1 band raised: p 1060 outside 950..1050',
          'd1 band cleared: p 1000, no longer outside 950..1050',
        ],
      );
    });

    it('a rule whose metric never arrives hints once, naming the rule, the metric and what the messages carry', () => {
      const hints: string[] = [];
      const engine = new RuleEngine({
        rules: compileRules([rule({ raise: { op: '>', value: 30 } }), rule({ name: 'h', metric: 'hum', raise: { op: '>', value: 80 } })]),
        onHint: (m) => hints.push(m),
      });
      for (let i = 0; i < 100; i++) engine.process(`d${i % 7}`, { temperature: 20, hum: 50 }, {});
      assert.deepStrictEqual(hints, [
        'rule "r": none of the first 20 messages carried metric "temp" (the last one had "temperature", "hum"); check the rule\'s metric name',
      ]);
      engine.close();
    });
  });

  describe('persistence', () => {
    it('restores active alarms silently and a running raise delay fires on time', () => {
      const defs = [
        rule({ raise: { op: '>', value: 30 }, escalateAfter: 600, escalateTo: 'critical' }),
        rule({ name: 'slow', metric: 'hum', raise: { op: '>', value: 80 }, raiseDelay: 300 }),
      ];
      const before = new RuleEngine({ rules: compileRules(defs) });
      before.process('d1', { temp: 31, hum: 90 }, {});
      before.control('ack', 'd1', 'r');
      clock.tick(100_000);
      const saved = JSON.parse(JSON.stringify(before.snapshot('d1'))) as PersistedAlarm[];
      before.close();

      const events: AlarmEvent[] = [];
      const after = new RuleEngine({ rules: compileRules(defs), onTimerEvents: (e) => events.push(...e) });
      after.restore('d1', saved, true);
      assert.deepStrictEqual(
        after.list().map((a) => [a.rule, a.acknowledged]),
        [['r', true]],
      );
      assert.deepStrictEqual(after.process('d1', { temp: 35, hum: 90 }, {}), null, 'no duplicate raise');
      clock.tick(200_000);
      assert.deepStrictEqual(
        events.map((e) => `${e.event}:${e.rule}`),
        ['raised:slow'],
      );
      clock.tick(300_000);
      assert.deepStrictEqual(
        events.map((e) => `${e.event}:${e.rule}:${e.severity}`),
        ['raised:slow:major', 'escalated:r:critical'],
      );
      after.close();
    });

    it("a snapshot names its fields, so it does not depend on the engine's flag bits", () => {
      const engine = new RuleEngine({ rules: compileRules([rule({ raise: { op: '>', value: 30 }, latch: true })]) });
      engine.process('d1', { temp: 31 }, {});
      engine.process('d1', { temp: 20 }, {});
      assert.deepStrictEqual(engine.snapshot('d1'), [
        { rule: 'r', active: true, conditionCleared: true, samples: 0, deadline: 1_700_000_000_000, raisedAt: 1_700_000_000_000, value: 20, thresholdLo: 30 },
      ]);
      engine.close();
    });

    it('a device with nothing to keep has no snapshot', () => {
      const engine = new RuleEngine({ rules: compileRules([rule({ raise: { op: '>', value: 30 } })]) });
      engine.process('d1', { temp: 1 }, {});
      assert.strictEqual(engine.snapshot('d1'), undefined);
      assert.deepStrictEqual(engine.persistedDevices(), []);
      engine.close();
    });
  });
});
