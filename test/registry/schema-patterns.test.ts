import assert from 'assert';
import fc from 'fast-check';
import { compileLinear, type LinearRegExp } from '../../lib/linear-regexp';
import { compileSchema } from '../../lib/schema';
import { TelemetryValidator } from '../../lib/telemetry/validate';

// Patterns in device-type schemas run against values and metric names devices send. V8 backtracks: `^(a+)+$`
// against 27 characters takes a second, doubling per character. These tests would not finish before the fix.
describe('schema patterns run in time linear in the value', () => {
  it('a catastrophic pattern rejects a 20,000-character value in one pass, and still matches what it should', () => {
    const validate = compileSchema({ type: 'object', properties: { code: { type: 'string', pattern: '^(a+)+$' } } }, 'schema');
    assert.strictEqual(validate({ code: `${'a'.repeat(20_000)}!` }), false);
    assert.strictEqual(validate.errors?.[0]?.keyword, 'pattern');
    assert.strictEqual(validate({ code: 'a'.repeat(20_000) }), true);
  });

  it('a metric name checked by patternProperties cannot stall telemetry validation either', () => {
    const validator = new TelemetryValidator({ type: 'object', patternProperties: { '^(m|mm)+$': { type: 'number' } }, additionalProperties: false });
    assert.throws(() => validator.check('dev-1', { [`${'m'.repeat(20_000)}x`]: 1 }), { code: 'SCHEMA_VALIDATION' });
    assert.doesNotThrow(() => validator.check('dev-1', { mmmm: 1 }));
  });

  it('polynomial backtracking (\\d+x, [a-z]+[0-9]+$: tens of seconds on 100 KB in V8) is linear too', () => {
    const validate = compileSchema({ type: 'array', items: [{ pattern: '\\d+x' }, { pattern: '[a-z]+[0-9]+$' }] }, 'schema');
    assert.strictEqual(validate(['1'.repeat(100_000), `${'a'.repeat(100_000)}!`]), false);
    assert.strictEqual(validate(['ab12x', 'abc123']), true);
  });

  it('matches exactly as a u RegExp does', () => {
    const patterns = [
      '^[A-Z]{2}-\\d{4}$',
      '^sensor_(temp|hum)$',
      '^(a+)+$',
      '(a|aa)*b',
      '^-?\\d+(\\.\\d+)?$',
      '^$',
      '',
      'a?b*c+',
      '^(ab|a)*$',
      '\\bfo+\\b',
      '\\Bo',
      'x{2,3}y{0,2}$',
      '[^a-c]+',
      '^.*foo.*$',
      '(?:a|b|)+c',
      '^\\p{L}+$',
      '^(?<n>a)b',
      'é+',
      '😀+',
      '^[😀a]{2}$',
      '(a*)*b',
      'a{0}b',
      '[]',
      '[^]',
      '^a|b$',
      '\\u0041',
      '\\u{1F600}',
      '\\x41',
      '[\\]a]+',
      '\\.',
      '^\\s*$',
    ];
    const text = fc
      .array(fc.constantFrom('a', 'b', 'c', 'x', 'y', 'A', 'Z', '1', '-', '.', '_', 'f', 'o', ' ', 'é', '😀', '\n', ']'), { maxLength: 12 })
      .map((chars) => chars.join(''));
    for (const pattern of patterns) {
      const linear = compileLinear(pattern);
      const native = new RegExp(pattern, 'u');
      fc.assert(
        fc.property(text, (s) => linear.test(s) === native.test(s)),
        { numRuns: 300 },
      );
    }
  });

  it('matches exactly as a u RegExp does, for generated patterns', () => {
    const quantifier = fc.constantFrom('', '', '*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '+?');
    const atom = fc.constantFrom('a', 'b', '.', '[ab]', '[^a]', '\\d', '\\w', '1', ' ');
    const { alternation } = fc.letrec<{ alternation: string; sequence: string; term: string }>((tie) => ({
      alternation: fc.array(tie('sequence'), { minLength: 1, maxLength: 3 }).map((branches) => branches.join('|')),
      sequence: fc.array(tie('term'), { minLength: 0, maxLength: 4 }).map((terms) => terms.join('')),
      term: fc.oneof(
        { maxDepth: 2, withCrossShrink: true },
        fc.tuple(atom, quantifier).map(([a, q]) => a + q),
        fc.constantFrom('^', '$', '\\b', '\\B'),
        fc.tuple(fc.constantFrom('(', '(?:'), tie('alternation'), quantifier).map(([open, body, q]) => `${open}${body})${q}`),
      ),
    }));
    const text = fc.array(fc.constantFrom('a', 'b', '1', ' ', '\n'), { maxLength: 8 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(alternation, fc.array(text, { minLength: 1, maxLength: 20 }), (pattern, inputs) => {
        let linear: LinearRegExp;
        try {
          linear = compileLinear(pattern);
        } catch {
          fc.pre(false); // a quantified assertion (a syntax error in a u RegExp), or too many states
          return true;
        }
        const native = new RegExp(pattern, 'u');
        return inputs.every((s) => linear.test(s) === native.test(s));
      }),
      { numRuns: 200 },
    );
  });
});
