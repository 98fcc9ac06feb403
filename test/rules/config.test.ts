// The m2m-rule node's saved config: version 2 names each rule's condition type; older rules are threshold rules.
import assert from 'assert';
import { RULE_CONFIG } from '../../nodes/m2m-rule/config';
import { compileRules, type RuleDefinition } from '../../lib/rules';

describe('m2m-rule config', () => {
  it('a version 1 node steps up to 2: each rule is a threshold rule, as it was', () => {
    const saved = { type: 'm2m-rule', version: 1, rules: [{ name: 'hot', metric: 'temp', severity: 'major', raise: { op: '>', value: 30 } }] };
    const read = RULE_CONFIG.read(saved);
    assert.strictEqual(RULE_CONFIG.version, 2);
    assert.deepStrictEqual(read.rules, [{ name: 'hot', condition: 'threshold', metric: 'temp', severity: 'major', raise: { op: '>', value: 30 } }]);
    assert.strictEqual(compileRules(read.rules)[0].kind, 'threshold');
  });

  it('a version 2 expression rule is read as saved', () => {
    const rule: RuleDefinition = {
      name: 'avg',
      condition: 'expression',
      metric: '',
      severity: 'major',
      raise: { expr: 'avg(temp, 5m) > 30' },
      reminderEvery: 60,
    };
    const read = RULE_CONFIG.read({ type: 'm2m-rule', version: 2, rules: [rule] });
    assert.deepStrictEqual(read.rules, [rule]);
  });
});
