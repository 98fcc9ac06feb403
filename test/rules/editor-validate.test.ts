// The edit dialog's rule check (the node's red triangle before deploy), run as the browser runs the node's script.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import vm from 'vm';
import type { RuleDefinition } from '../../lib/rules';

const html = fs.readFileSync(path.join(__dirname, '../../nodes/m2m-rule/m2m-rule.html'), 'utf8');
const example = JSON.parse(fs.readFileSync(path.join(__dirname, '../../examples/threshold-alarms.json'), 'utf8')) as Array<{
  type: string;
  rules?: RuleDefinition[];
}>;

function editorValidate(): (rules: unknown) => true | string {
  const script = html.split('<script type="text/javascript">')[1].split('</script>')[0];
  let defaults: { rules: { validate: (rules: unknown) => true | string } } | undefined;
  const RED = {
    // the message key with its parameters, as the editor's catalog would fill them in
    _: (key: string, params?: Record<string, unknown>) => (params ? `${key} ${JSON.stringify(params)}` : key),
    nodes: { registerType: (_type: string, def: { defaults: typeof defaults }) => void (defaults = def.defaults) },
    validators: { number: () => () => true },
  };
  vm.runInNewContext(script, { RED, $: () => undefined, Intl });
  assert.ok(defaults, 'the script registers m2m-rule');
  return defaults.rules.validate;
}

describe('m2m-rule editor: rule check', () => {
  const check = editorValidate();
  /** true, or false where the editor shows a message beside its red mark */
  const validate = (rules: unknown): boolean => check(rules) === true;
  const expr = (raise: string, extra: Partial<RuleDefinition> = {}): RuleDefinition => ({
    name: 'x',
    condition: 'expression',
    metric: '',
    severity: 'major',
    raise: { expr: raise },
    ...extra,
  });

  it('accepts the rules of the shipped example (threshold, level and expression rules)', () => {
    for (const node of example.filter((n) => n.type === 'm2m-rule')) assert.strictEqual(validate(node.rules), true, JSON.stringify(node.rules));
  });

  it('accepts a good expression, levels, lifecycle options and schedules', () => {
    assert.strictEqual(
      validate([
        expr('avg(temp, 5m) > 30', {
          clear: { expr: 'avg(temp, 5m) < 28' },
          reminderEvery: 60,
          escalateWhen: 'unacknowledged',
          escalateAfter: 300,
          escalateTo: 'critical',
        }),
      ]),
      true,
    );
    assert.strictEqual(
      validate([
        expr('avg(temp, 5m)', {
          levels: [
            { severity: 'warning', value: 30 },
            { severity: 'critical', value: 40 },
          ],
          hysteresis: 1,
        }),
      ]),
      true,
    );
    assert.strictEqual(
      validate([expr('t > 1', { schedule: { type: 'weekly', days: [1, 2, 3, 4, 5], from: '06:00', to: '22:00', tz: 'Europe/Berlin' } })]),
      true,
    );
    assert.strictEqual(validate([expr('t > 1', { schedule: { type: 'cron', cron: '* 6-21 * * 1-5', tz: '' } })]), true);
  });

  it('says what is wrong and with which rule', () => {
    assert.strictEqual(check([]), '@m2mflow/node-red-m2m/m2m-rule:m2m-rule.valid.none');
    assert.match(String(check([expr('temp > 30 and')])), /m2m-rule\.valid\.problem \{"name":"x","problem":".*position 14/);
    assert.match(String(check([expr('t > 1'), expr('t > 2')])), /m2m-rule\.valid\.duplicate \{"name":"x"\}/);
    assert.match(String(check([{ ...expr('t > 1'), name: 'a/b' }])), /m2m-rule\.valid\.name/);
  });

  it('marks a wrong rule: a syntax error, levels out of order, an unknown time zone, a cron of four fields', () => {
    assert.strictEqual(validate([expr('temp > 30 and')]), false);
    assert.strictEqual(validate([expr('avg(temp, 5m)', { clear: { expr: 'temp <' } })]), false);
    assert.strictEqual(
      validate([
        expr('avg(temp, 5m)', {
          levels: [
            { severity: 'warning', value: 30 },
            { severity: 'major', value: 20 },
          ],
        }),
      ]),
      false,
    );
    assert.strictEqual(validate([expr('t > 1', { schedule: { type: 'weekly', days: [1], from: '06:00', to: '22:00', tz: 'Mars/Olympus' } })]), false);
    assert.strictEqual(validate([expr('t > 1', { schedule: { type: 'cron', cron: '* 6-21 * *' } })]), false);
    assert.strictEqual(
      validate([{ name: 'y', condition: 'threshold', metric: '', severity: 'major', raise: { op: '>', value: 1 } }]),
      false,
      'a threshold rule needs its metric',
    );
  });
});
