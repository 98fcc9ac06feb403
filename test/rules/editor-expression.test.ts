// The edit dialog checks an expression as the runtime does: the same strings accepted, the same message and
// position for the others (the dialog shows it in red before deploy).
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import vm from 'vm';
import fc from 'fast-check';
import { expressionToken } from './expression-tokens';
import { collectingScope, compileExpression, ExprError } from '../../lib/rules/expr';

type Check = (text: string, want: 'bool' | 'num') => { message: string; position: number } | null;

const html = fs.readFileSync(path.join(__dirname, '../../nodes/m2m-rule/m2m-rule.html'), 'utf8');

function editorCheck(): Check {
  const start = html.indexOf('    function checkExpression(');
  const end = html.indexOf('\n    }\n', start);
  assert.ok(start >= 0 && end > start, 'the editor defines checkExpression');
  return vm.runInNewContext(`${html.slice(start, end + 6)}; checkExpression`) as Check;
}

function runtimeCheck(text: string, want: 'bool' | 'num'): { message: string; position: number } | null {
  try {
    compileExpression(text, want, collectingScope());
    return null;
  } catch (err) {
    if (!(err instanceof ExprError)) throw err;
    return { message: err.message, position: err.position };
  }
}

describe('m2m-rule editor: expression check', () => {
  const check = editorCheck();
  const same = (text: string, want: 'bool' | 'num'): void => {
    const shown = check(text, want);
    assert.deepStrictEqual(shown && { message: shown.message, position: shown.position }, runtimeCheck(text, want), JSON.stringify(text));
  };

  it('the examples of the help and the usual mistakes', () => {
    for (const text of [
      'temperature > 80 and vibration > 3',
      'abs(supply - return) > 5',
      'pressure > attr.maxPressure * 0.9',
      'avg(temperature, 5m) > 30',
      'rate(level, 20 samples) < -0.5 or not door == true',
      'temperature >',
      'avg(temperature, 25h) > 1',
      'avg(temperature, 10001 samples) > 1',
      'avg(temperature, 5) > 1',
      'temperature + 1',
      '(a > 1) + (not 2)',
      'constructor > 1',
      'a > 1 < 2',
      'x $ 1',
      '',
      '5m > 1',
      '((((a))))',
    ]) {
      same(text, 'bool');
      same(text, 'num');
    }
  });

  it('any string: the same verdict, message and position as the runtime', () => {
    const tokens = expressionToken;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.array(tokens, { maxLength: 25 }).map((t) => t.join(' ')),
        ),
        fc.constantFrom('bool' as const, 'num' as const),
        (text, want) => same(text, want),
      ),
      { numRuns: 4000 },
    );
  });
});
