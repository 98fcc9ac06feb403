// Derived metrics over windows, per device, with fake timers: every function over a time window and over a sample
// count, a device going silent in the middle of a window, the limits refused at deploy, and a restart mid-window.
import assert from 'assert';
import sinon from 'sinon';
import { compileRules, type RuleDefinition } from '../../lib/rules';
import { bytesPerDevice, TIME_BUCKETS } from '../../lib/rules/windows';
import { rig, type Rig } from './rig';

const T0 = Date.parse('2026-03-02T12:00:00Z');
const level = (raise: string): RuleDefinition => ({
  name: 'w',
  condition: 'expression',
  metric: '',
  severity: 'warning',
  raise: { expr: raise },
  levels: [{ severity: 'warning', value: -1e9 }],
});

/** The value the windowed expression has after each sample (read through a level rule's event value). */
async function valuesOf(source: string, samples: Array<[number, number]>, r?: Rig): Promise<Array<number | null>> {
  const own = r ?? (await rig([level(source)]));
  const out: Array<number | null> = [];
  for (const [atSecond, temp] of samples) {
    clockTo(T0 + atSecond * 1000);
    own.send({ temp });
    out.push(own.engine.list()[0]?.value ?? null);
  }
  if (!r) await own.close();
  return out;
}

let clock: sinon.SinonFakeTimers;
function clockTo(at: number): void {
  clock.tick(Math.max(0, at - Date.now()));
}

describe('rule windows', () => {
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'Date'] });
  });
  afterEach(() => clock.restore());

  const samples: Array<[number, number]> = [
    [0, 10],
    [10, 20],
    [20, 60],
    [30, 30],
  ];
  describe('over the last 60 s (a time window)', () => {
    const expected: Record<string, Array<number | null>> = {
      avg: [10, 15, 30, 30],
      min: [10, 10, 10, 10],
      max: [10, 20, 60, 60],
      sum: [10, 30, 90, 120],
      count: [1, 2, 3, 4],
      delta: [0, 10, 50, 20],
      rate: [null, 1, 2.5, 20 / 30],
    };
    for (const [fn, values] of Object.entries(expected)) {
      it(`${fn}(temp, 60s)`, async () => {
        const got = await valuesOf(`${fn}(temp, 60s)`, samples);
        // rate of one sample has no value: the rule is not evaluated, so no alarm yet
        assert.deepStrictEqual(
          got.map((v) => (v === null ? null : Math.round(v * 1000) / 1000)),
          values.map((v) => (v === null ? null : Math.round(v * 1000) / 1000)),
        );
      });
    }

    it('samples leave the window after T (at most T + T/60 later): the average follows', async () => {
      const got = await valuesOf('avg(temp, 60s)', [
        [0, 100],
        [30, 0],
        [62, 0],
      ]);
      assert.deepStrictEqual(got, [100, 50, 0]);
    });

    it('a device silent longer than the window has an empty window, not a stale average', async () => {
      const r = await rig([{ ...level('avg(temp, 60s)'), levels: [{ severity: 'warning', value: 30 }] }]);
      r.send({ temp: 50 });
      clockTo(T0 + 20_000);
      r.send({ temp: 50 });
      assert.deepStrictEqual(r.take(), ['raised:w:warning']);
      // silent mid-window for 5 minutes; the first sample after it is averaged alone
      clockTo(T0 + 320_000);
      r.send({ temp: 10 });
      assert.strictEqual(r.events[0]?.value, 10);
      assert.deepStrictEqual(r.take(), ['cleared:w:warning']);
      await r.close();
    });

    it('a sample of another metric reads the window as of now: samples that fell out are gone', async () => {
      const r = await rig([{ name: 'w', condition: 'expression', metric: '', severity: 'major', raise: { expr: 'count(temp, 60s) == 0 and door > 0' } }]);
      r.send({ temp: 5 });
      clockTo(T0 + 30_000);
      r.send({ door: 1 });
      assert.deepStrictEqual(r.take(), [], 'temp sample 30 s ago is still in the window');
      clockTo(T0 + 70_000);
      r.send({ door: 1 });
      assert.deepStrictEqual(r.take(), ['raised:w:major']);
      await r.close();
    });
  });

  describe('over the last 3 samples', () => {
    const expected: Record<string, Array<number | null>> = {
      avg: [10, 15, 30, 110 / 3],
      min: [10, 10, 10, 20],
      max: [10, 20, 60, 60],
      sum: [10, 30, 90, 110],
      count: [1, 2, 3, 3],
      delta: [0, 10, 50, 10],
      rate: [null, 1, 2.5, 0.5],
    };
    for (const [fn, values] of Object.entries(expected)) {
      it(`${fn}(temp, 3 samples)`, async () => {
        const got = await valuesOf(`${fn}(temp, 3 samples)`, samples);
        assert.deepStrictEqual(
          got.map((v) => (v === null ? null : Math.round(v * 1000) / 1000)),
          values.map((v) => (v === null ? null : Math.round(v * 1000) / 1000)),
        );
      });
    }

    it('a device going silent keeps its last N samples (a count window is not a time window)', async () => {
      const r = await rig([level('avg(temp, 3 samples)')]);
      r.send({ temp: 10 });
      r.send({ temp: 20 });
      clockTo(T0 + 3_600_000);
      r.send({ temp: 30 });
      assert.strictEqual(r.engine.list()[0].value, 20);
      await r.close();
    });
  });

  it('windows are per device', async () => {
    const r = await rig([level('sum(temp, 5m)')]);
    r.send({ temp: 1 }, 'a');
    r.send({ temp: 2 }, 'b');
    r.send({ temp: 3 }, 'a');
    assert.deepStrictEqual(
      r.engine.list().map((a) => [a.deviceId, a.value]),
      [
        ['a', 4],
        ['b', 2],
      ],
    );
    await r.close();
  });

  it('a restart in the middle of a window keeps its samples (time and count windows)', async () => {
    const r = await rig([level('avg(temp, 5m)'), { ...level('sum(temp, 4 samples)'), name: 'n' }]);
    r.send({ temp: 10 });
    clockTo(T0 + 60_000);
    r.send({ temp: 20 });
    await r.restart();
    clockTo(T0 + 120_000);
    r.send({ temp: 30 });
    assert.deepStrictEqual(
      r.engine.list().map((a) => [a.rule, a.value]),
      [
        ['w', 20],
        ['n', 60],
      ],
    );
    await r.close();
  });

  it('windows over 24 hours or 10,000 samples are refused at deploy; the limits themselves are accepted', () => {
    assert.throws(() => compileRules([level('avg(temp, 1441m)')]), /raise\.expr a time window must be longer than 0 and at most 24 hours at position 1/);
    assert.throws(() => compileRules([level('avg(temp, 10001 samples)')]), /1 to 10000 samples/);
    assert.doesNotThrow(() => compileRules([level('avg(temp, 24h)'), { ...level('avg(temp, 10000 samples)'), name: 'n' }]));
  });

  it('memory per device and window is fixed and stated: a 5-minute average, a 60-sample average', () => {
    assert.strictEqual(bytesPerDevice({ metric: 't', by: 'time', size: 300_000 }, new Set(['avg'])), 8 * (3 + TIME_BUCKETS * 2));
    assert.strictEqual(bytesPerDevice({ metric: 't', by: 'samples', size: 60 }, new Set(['avg'])), 8 * (2 + 60));
    assert.strictEqual(bytesPerDevice({ metric: 't', by: 'samples', size: 60 }, new Set(['rate'])), 8 * (2 + 120));
  });
});
