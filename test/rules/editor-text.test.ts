// The rule editor's text placeholder is the runtime's real default text, for every kind of condition.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import vm from 'vm';
import { compileRule, defaultTexts, TEXT_FIELDS, type RuleDefinition } from '../../lib/rules';

type DefaultText = (raiseOp: string, clearOp: string, per?: string, direction?: string) => string;

/** The editor's `defaultText` function, taken from the node's HTML as the browser runs it. */
const html = fs.readFileSync(path.join(__dirname, '../../nodes/m2m-rule/m2m-rule.html'), 'utf8');

function editorDefaultText(): DefaultText {
  const start = html.indexOf('var WORDS');
  const fn = html.indexOf('function defaultText', start);
  const end = html.indexOf('\n    }\n', fn);
  assert.ok(start >= 0 && fn > start && end > fn, 'the editor defines WORDS and defaultText');
  return vm.runInNewContext(`${html.slice(start, end + 6)}; defaultText`) as DefaultText;
}

describe('m2m-rule editor text placeholder', () => {
  const cases: Array<[string, Partial<RuleDefinition>]> = [
    ['> with auto clear', { raise: { op: '>', value: 30 } }],
    ['> with a clear condition', { raise: { op: '>', value: 30 }, clear: { op: '<', value: 28 } }],
    ['<= with auto clear', { raise: { op: '<=', value: 2 } }],
    ['outside', { raise: { op: 'outside', value: 1, value2: 5 }, clear: { op: 'between', value: 2, value2: 4 } }],
    ['rate per minute, rising', { raise: { op: 'rate', value: 3, per: 'min', direction: 'rise' } }],
    ['no data', { raise: { op: 'nodata', value: 60 } }],
  ];
  for (const [name, def] of cases) {
    it(`shows the runtime's default raised and cleared texts: ${name}`, () => {
      const rule = compileRule({ name: 'r', metric: 'temp', severity: 'major', ...def } as RuleDefinition, 0);
      const texts = defaultTexts(rule.raise, rule.clear);
      const raise = def.raise as { op: string; per?: string; direction?: string };
      const shown = editorDefaultText()(raise.op, def.clear?.op ?? 'auto', raise.per, raise.direction);
      assert.strictEqual(shown, `${texts.raised} / cleared: ${texts.cleared.replace('{{deviceId}} {{rule}} {{event}}: ', '')}`);
    });
  }

  it('the editor refuses the same template fields as the runtime', () => {
    const list = /var TEXT_FIELDS = (\[[^\]]*\]);/.exec(html);
    assert.ok(list, 'the editor lists TEXT_FIELDS');
    assert.deepStrictEqual(Array.from(vm.runInNewContext(list[1]) as string[]), [...TEXT_FIELDS]);
  });
});
