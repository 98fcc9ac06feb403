// Expression rules end to end through the engine: every operator and function decides a raise and a clear.
import assert from 'assert';
import sinon from 'sinon';
import fc from 'fast-check';
import { expressionToken } from './expression-tokens';
import { compileRules, RuleEngine, type RuleDefinition } from '../../lib/rules';
import { collectingScope, compileExpression, ExprError, type ExprInputs, parseExpression } from '../../lib/rules/expr';
import { rig } from './rig';

const expr = (raise: string, extra: Partial<RuleDefinition> = {}): RuleDefinition => ({
  name: 'x',
  condition: 'expression',
  metric: '',
  severity: 'major',
  raise: { expr: raise },
  ...extra,
});

/** Whether the expression raises an alarm for this sample (a fresh engine each time). */
async function raises(source: string, payload: Record<string, unknown>, attributes: Record<string, unknown> = {}): Promise<boolean | null> {
  const r = await rig([expr(source)], { d1: { type: 't', tags: [], attributes } });
  const out = r.send(payload);
  await r.close();
  if (r.engine.list().length === 0 && out.length === 0) return false;
  return out.some((e) => e.event === 'raised');
}

describe('rule expressions', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({
      now: Date.parse('2026-03-02T12:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'Date'],
    });
  });
  afterEach(() => clock.restore());

  describe('every operator decides', () => {
    const cases: Array<[string, Record<string, unknown>, boolean]> = [
      ['t > 30', { t: 31 }, true],
      ['t > 30', { t: 30 }, false],
      ['t >= 30', { t: 30 }, true],
      ['t < 5', { t: 4 }, true],
      ['t <= 5', { t: 5 }, true],
      ['t <= 5', { t: 5.1 }, false],
      ['t == 3', { t: 3 }, true],
      ['t != 3', { t: 3 }, false],
      ['t != 3', { t: 4 }, true],
      ['a > 1 and b > 1', { a: 2, b: 2 }, true],
      ['a > 1 and b > 1', { a: 2, b: 0 }, false],
      ['a > 1 or b > 1', { a: 0, b: 2 }, true],
      ['a > 1 or b > 1', { a: 0, b: 0 }, false],
      ['not a > 1', { a: 0 }, true],
      ['not a > 1', { a: 2 }, false],
      ['a + b > 10', { a: 6, b: 5 }, true],
      ['a - b > 0', { a: 1, b: 2 }, false],
      ['a * b == 12', { a: 3, b: 4 }, true],
      ['a / b == 2', { a: 8, b: 4 }, true],
      ['a % b == 1', { a: 7, b: 3 }, true],
      ['-a > 0', { a: -1 }, true],
      ['abs(supply - return) > 5', { supply: 20, return: 26 }, true],
      ['abs(supply - return) > 5', { supply: 20, return: 24 }, false],
      ['min(a, b, c) > 1', { a: 2, b: 3, c: 1 }, false],
      ['max(a, b) > 10', { a: 2, b: 11 }, true],
      ['(a > 1 or b > 1) and c > 1', { a: 2, b: 0, c: 2 }, true],
      ['door == true', { door: true }, true],
      ['temperature > 80 and vibration > 3', { temperature: 81, vibration: 3.5 }, true],
    ];
    for (const [source, payload, expected] of cases) {
      it(`${source} with ${JSON.stringify(payload)}: ${expected ? 'raises' : 'does not raise'}`, async () => {
        assert.strictEqual(await raises(source, payload), expected);
      });
    }

    it('attr.<name> reads the device attribute: pressure > attr.maxPressure * 0.9', async () => {
      assert.strictEqual(await raises('pressure > attr.maxPressure * 0.9', { pressure: 91 }, { maxPressure: 100 }), true);
      assert.strictEqual(await raises('pressure > attr.maxPressure * 0.9', { pressure: 89 }, { maxPressure: 100 }), false);
    });

    it('a division by zero decides nothing (the rule is not evaluated)', async () => {
      assert.strictEqual(await raises('a / b > 1', { a: 1, b: 0 }), false);
    });
  });

  it('raise and clear expressions give hysteresis; the event carries the compared value and threshold', async () => {
    const r = await rig([expr('temp > 30', { clear: { expr: 'temp < 28' } })]);
    r.send({ temp: 31 });
    r.send({ temp: 29 });
    r.send({ temp: 27 });
    assert.deepStrictEqual(
      r.events.map((e) => [e.event, e.value, e.threshold]),
      [
        ['raised', 31, 30],
        ['cleared', 27, 28],
      ],
    );
    assert.strictEqual(r.events[0].text, 'd1 x raised: temp > 30, now 31');
    await r.close();
  });

  it('delays, sample counts, latch and shelve apply to expression rules unchanged', async () => {
    const r = await rig([expr('a > 1 and b > 1', { raiseDelay: 10, raiseSamples: 2, latch: true })]);
    r.send({ a: 2, b: 2 });
    clock.tick(10_000);
    assert.deepStrictEqual(r.take(), [], 'one sample is not enough');
    r.send({ a: 2, b: 2 });
    assert.deepStrictEqual(r.take(), ['raised:x:major']);
    r.send({ a: 0, b: 0 });
    assert.deepStrictEqual(r.take(), [], 'latched');
    r.engine.control('ack', 'd1');
    await r.close();
  });

  it('a restart in the middle of the raise delay of an expression rule: the timer raises it on time', async () => {
    const r = await rig([expr('avg(t, 1m) > 10 and door == true', { raiseDelay: 10 })]);
    r.send({ t: 20, door: true });
    clock.tick(5_000);
    await r.restart();
    clock.tick(4_999);
    assert.deepStrictEqual(r.take(), []);
    clock.tick(1);
    assert.deepStrictEqual(r.take(), ['raised:x:major']);
    await r.close();
  });

  describe('missing metrics', () => {
    it('wait (default): a sample without a metric the expression names is not evaluated', async () => {
      const r = await rig([expr('a > 1 and b > 1')]);
      r.send({ a: 5 });
      r.send({ b: 5 });
      assert.deepStrictEqual(r.take(), []);
      r.send({ a: 5, b: 5 });
      assert.deepStrictEqual(r.take(), ['raised:x:major']);
      await r.close();
    });

    it('last: the last known value stands in, also after a restart', async () => {
      const r = await rig([expr('a > 1 and b > 1', { missing: 'last' })]);
      r.send({ a: 5 });
      assert.deepStrictEqual(r.take(), [], 'b never seen: nothing to stand in');
      await r.restart();
      r.send({ b: 5 });
      assert.deepStrictEqual(r.take(), ['raised:x:major']);
      await r.close();
    });
  });

  it('a non-numeric value is NOT_A_NUMBER naming the rule and metric, and changes nothing', async () => {
    const r = await rig([expr('a > 1 and b > 1')]);
    assert.throws(
      () => r.send({ a: 'hot', b: 2 }),
      (err: Error & { code?: string }) => err.code === 'NOT_A_NUMBER' && /rule "x" metric "a"/.test(err.message),
    );
    assert.strictEqual(r.engine.deviceCount, 0);
    await r.close();
  });

  it('a missing attribute is NO_THRESHOLD', async () => {
    const r = await rig([expr('p > attr.maxP')], { d1: { type: 't', tags: [], attributes: {} } });
    assert.throws(
      () => r.send({ p: 1 }),
      (err: Error & { code?: string }) => err.code === 'NO_THRESHOLD' && /attr\.maxP/.test(err.message),
    );
    await r.close();
  });

  describe('refused at deploy with the rule and the position', () => {
    const bad: Array<[string, RegExp]> = [
      ['temp >', /position 7/],
      ['temp > 30 and', /position 14/],
      ['avg(temp, 25h) > 1', /at most 24 hours at position 1/],
      ['avg(temp, 10001 samples) > 1', /1 to 10000 samples at position 1/],
      ['temp + 1', /must be a condition/],
      ['foo(temp) > 1', /unknown function "foo"/],
      ['temp > 1 < 2', /do not chain/],
      ['temp $ 2', /unexpected character "\$" at position 6/],
      ['constructor > 1', /cannot be a metric name/],
      ['attr.__proto__ > 1', /cannot be a attribute name|cannot be an attribute name/],
    ];
    for (const [source, message] of bad) {
      it(JSON.stringify(source), () => {
        assert.throws(
          () => compileRules([expr(source)]),
          (err: Error & { code?: string; field?: string }) =>
            err.code === 'INVALID_RULE' && err.field === 'raise.expr' && /rule "x": raise\.expr/.test(err.message) && message.test(err.message),
        );
      });
    }
  });

  describe('fuzz', () => {
    const alphabet = fc.constantFrom(...'abt01239.+-*/%()<>=!, _xattr.avgminmaxratedeltacountsumsamples5mhnotandor '.split(''));
    const tokens = expressionToken;

    it('any string compiles or is refused with a position, never another exception', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ maxLength: 80 }),
            fc.string({ unit: alphabet, maxLength: 60 }),
            fc.array(tokens, { maxLength: 30 }).map((t) => t.join(' ')),
          ),
          (source) => {
            try {
              compileExpression(source, 'bool', collectingScope());
            } catch (err) {
              if (!(err instanceof ExprError)) throw err;
              assert.ok(
                Number.isInteger(err.position) && err.position >= 0 && err.position <= source.length,
                `position ${err.position} within ${JSON.stringify(source)}`,
              );
            }
          },
        ),
        { numRuns: 3000 },
      );
    });

    it('a compiled expression reads nothing but its inputs, and only the names it declares', () => {
      fc.assert(
        fc.property(
          fc.array(tokens, { minLength: 1, maxLength: 30 }).map((t) => t.join(' ')),
          (source) => {
            const scope = collectingScope();
            let compiled;
            try {
              compiled = compileExpression(source, 'bool', scope);
            } catch {
              return;
            }
            const touched: string[] = [];
            const watch = <T extends object>(name: string, target: T): T =>
              new Proxy(target, {
                get(t, key, receiver) {
                  touched.push(`${name}.${String(key)}`);
                  return Reflect.get(t, key, receiver) as unknown;
                },
              });
            const metrics = new Float64Array(scope.metrics.length).fill(3);
            const attributes = new Float64Array(scope.attributeNames.length).fill(2);
            const inputs: ExprInputs = watch('inputs', { metrics: watch('metrics', metrics), attributes: watch('attributes', attributes), window: () => 1 });
            const before = Object.getOwnPropertyNames(globalThis).length;
            const result = compiled.run(inputs);
            assert.ok(result === 0 || result === 1 || Number.isNaN(result), `a condition is 1, 0 or unknown, got ${result}`);
            assert.strictEqual(Object.getOwnPropertyNames(globalThis).length, before);
            for (const key of touched) {
              assert.ok(/^inputs\.(metrics|attributes|window)$|^metrics\.\d+$|^attributes\.\d+$/.test(key), `${source} read ${key}`);
            }
          },
        ),
        { numRuns: 3000 },
      );
    });

    it('deep nesting is refused with a position instead of overflowing the stack', () => {
      assert.throws(() => parseExpression('('.repeat(5000) + 'a' + ')'.repeat(5000)), ExprError);
      assert.throws(() => parseExpression('-'.repeat(1000) + 'a'), ExprError);
      assert.throws(() => parseExpression('not '.repeat(1000) + 'a > 1'), ExprError);
    });
  });

  it('names outside the expression language are metric names read from the sample, never globals', () => {
    const rules = compileRules([expr('process > 1 and this > 1 and globalThis > 1')]);
    const engine = new RuleEngine({ rules });
    assert.strictEqual(engine.process('d1', { process: 2, this: 2, globalThis: 2 }, {})?.[0].event, 'raised');
    assert.strictEqual(engine.process('d2', { x: 1 }, {}), null);
    engine.close();
  });
});
