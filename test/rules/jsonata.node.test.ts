// A threshold written as JSONata: evaluated once per message against the whole msg by Node-RED, the engine
// compares with the result; a syntax error refuses the deploy naming the rule and the property.
import assert from 'assert';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { AlarmEvent, RuleDefinition } from '../../lib/rules';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';

function flow(rules: RuleDefinition[]): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'rule', type: 'm2m-rule', z: 'f1', version: 2, rules, outputs: 1, wires: [['alarms']] },
    { id: 'alarms', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

const hot = (value: string): RuleDefinition =>
  ({ name: 'hot', metric: 'temp', severity: 'major', raise: { op: '>', value, valueType: 'jsonata' } }) as RuleDefinition;

describe('m2m-rule node with a JSONata threshold', () => {
  afterEach(() => helper.unload());

  it('compares each message with its own JSONata result, in order, and the event carries no trace of it', async () => {
    await helper.load([ruleNode as NodeModule, catchNode], flow([hot('$number(limits.temp) * 0.9')]));
    const rule = helper.getNode('rule');
    const alarms = collect(helper.getNode('alarms'));
    const caught = collect(helper.getNode('caught'));
    rule.receive({ deviceId: 'd1', payload: { temp: 95 }, limits: { temp: '110' } }); // 95 > 99? no
    rule.receive({ deviceId: 'd1', payload: { temp: 95 }, limits: { temp: '100' } }); // 95 > 90: raised
    rule.receive({ deviceId: 'd1', payload: { temp: 80 }, limits: { temp: '100' } }); // 80 > 90? no: cleared
    await waitFor(() => alarms.length === 2 || caught.length > 0, 'two events');
    assert.deepStrictEqual(caught, []);
    const events = alarms.map((m) => m.payload as AlarmEvent);
    assert.deepStrictEqual(
      events.map((e) => [e.event, e.value, e.threshold]),
      [
        ['raised', 95, 90],
        ['cleared', 80, 90],
      ],
    );
    assert.deepStrictEqual(Object.getOwnPropertySymbols(alarms[0]), [], 'the event message carries no JSONata results');
  });

  it('a threshold the expression does not give as a number is NO_THRESHOLD at the Catch node, naming the rule and property', async () => {
    await helper.load([ruleNode as NodeModule, catchNode], flow([hot('limits.missing')]));
    const caught = collect(helper.getNode('caught'));
    helper.getNode('rule').receive({ deviceId: 'd1', payload: { temp: 95 } });
    await waitFor(() => caught.length === 1, 'the error');
    assert.strictEqual((caught[0].error as { code?: string }).code, 'NO_THRESHOLD');
    assert.strictEqual((caught[0].m2mError as { field?: string }).field, 'rule "hot": raise.value');
  });

  it('a syntax error is refused at deploy: INVALID_CONFIG for each message, naming the rule and the property', async () => {
    await helper.load([ruleNode as NodeModule, catchNode], flow([hot('limits.temp *')]));
    const caught = collect(helper.getNode('caught'));
    helper.getNode('rule').receive({ deviceId: 'd1', payload: { temp: 95 } });
    await waitFor(() => caught.length === 1, 'the error');
    const error = caught[0].error as { message: string; code?: string };
    assert.strictEqual(error.code, 'INVALID_CONFIG');
    assert.match(error.message, /rule "hot": raise\.value is not a valid JSONata expression/);
  });
});
