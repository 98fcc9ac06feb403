// An expression rule in Node-RED: a mistake stops the node at deploy naming the rule and the position; a good one
// raises, reminds through the node's output and clears.
import assert from 'assert';
import sinon from 'sinon';
import { catchNode, collect, helper, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { AlarmEvent, RuleDefinition } from '../../lib/rules';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

function flow(rules: RuleDefinition[]): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'rule', type: 'm2m-rule', z: 'f1', version: 2, rules, outputs: 1, wires: [['alarms']] },
    { id: 'alarms', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

describe('m2m-rule node with expression rules', () => {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await helper.unload();
  });

  it('a syntax error is refused at deploy: red badge, a log line and INVALID_RULE for each message, naming the rule and the position', async () => {
    await helper.load(
      [ruleNode as NodeModule, catchNode],
      flow([{ name: 'bad', condition: 'expression', metric: '', severity: 'major', raise: { expr: 'temp > 30 and' } }]),
    );
    const rule = helper.getNode('rule');
    const caught = collect(helper.getNode('caught'));
    rule.receive({ deviceId: 'd1', payload: { temp: 40 } });
    await settle();
    const error = caught[0].error as { message: string; code?: string };
    assert.match(error.message, /rule "bad": raise\.expr expected a number, a metric or "\(", found the end at position 14/);
    assert.strictEqual(error.code, 'INVALID_RULE');
    assert.strictEqual((caught[0].m2mError as { field?: string }).field, 'raise.expr');
  });

  it('raises, sends a reminder every 30 s from its timer, and clears', async () => {
    await helper.load(
      [ruleNode as NodeModule, catchNode],
      flow([{ name: 'split', condition: 'expression', metric: '', severity: 'major', raise: { expr: 'abs(supply - return) > 5' }, reminderEvery: 30 }]),
    );
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const rule = helper.getNode('rule');
    const alarms = collect(helper.getNode('alarms'));
    rule.receive({ deviceId: 'd1', payload: { supply: 20, return: 27 } });
    await settle();
    clock.tick(30_000);
    await settle();
    rule.receive({ deviceId: 'd1', payload: { supply: 20, return: 22 } });
    await settle();
    assert.deepStrictEqual(
      alarms.map((m) => `${(m.payload as AlarmEvent).event}:${m.topic}`),
      ['raised:alarm/d1/split', 'reminder:alarm/d1/split', 'cleared:alarm/d1/split'],
    );
  });
});
