import assert from 'assert';
import type { RuleDefinition } from '../../lib/rules';
import type { NodeMessage } from '../../nodes/shared/node-red';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';
import { catchNode, type NodeModule } from '../helpers/node-red';
import { each, envelopeCases, payloadCases, tenMegabytes, TOO_DEEP, type ValueCase, withValues, wrongTypes } from './cases';
import { type HostileCase, HostileRun, hostileCases, hostileFlow } from './harness';
import { deepObject, hostileKeyObjects, oddIds, oddNumbers } from './payloads';

const MODULES = [ruleNode as NodeModule, catchNode];
const CONTROL_TOPICS = ['ack', 'shelve', 'unshelve', 'reset', 'list'];

const TOO_WARM: RuleDefinition = {
  name: 'too-warm',
  metric: 'temp',
  severity: 'major',
  raise: { op: '>', value: 30 },
  clear: { op: '<', value: 28 },
  text: '{{deviceId}}: {{metric}} {{value}} above {{threshold}}',
};
// issue 9, defect 12: rules on metric names that are Object.prototype members
const PROTOTYPE_NAMES: RuleDefinition[] = [
  { name: 'value-of', metric: 'valueOf', severity: 'minor', raise: { op: '>', value: 1 } },
  { name: 'to-string', metric: 'toString', severity: 'minor', raise: { op: '>', value: 1 } },
];

const hostileValues = (): ValueCase[] => [
  ...each(oddNumbers),
  ...each(wrongTypes()),
  ['a 10 MB string', tenMegabytes],
  ['an object nested 3,000 deep', () => deepObject(), TOO_DEEP],
];

function controlCases(): HostileCase[] {
  return CONTROL_TOPICS.flatMap((topic) => {
    const good = (): NodeMessage => ({ topic, deviceId: 'good', rule: 'too-warm', duration: 60 });
    return [
      ...withValues(good, 'deviceId', [...each(oddIds), ...hostileValues()]),
      ...withValues(good, 'rule', [...each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'no-such-rule']), ...hostileValues()]),
      ...(topic === 'shelve' ? withValues(good, 'duration', [...each([-1, 0, 1e308, '60', '1e400']), ...hostileValues()]) : []),
    ].map((c) => ({ ...c, name: `control ${topic}: ${c.name}` }));
  });
}

for (const [title, rules] of [
  ['threshold rule', [TOO_WARM]],
  ['rules on metrics named valueOf and toString', [TOO_WARM, ...PROTOTYPE_NAMES]],
] as const) {
  describe(`hostile input: m2m-rule, ${title}`, function () {
    this.timeout(30_000);
    const run = new HostileRun();
    let serial = 0;
    before(() => run.start(MODULES, hostileFlow({ type: 'm2m-rule', rules, outputs: 1, wires: [['out1']] })));
    after(() => run.stop());

    const good = (): NodeMessage => ({ deviceId: 'good', payload: { temp: 35 } });
    hostileCases(run, [
      ...payloadCases(good),
      ...envelopeCases(good),
      ...withValues(good, 'payload', [
        ...hostileValues().map(([name, value, codes]): ValueCase => [`{ temp: ${name} }`, () => ({ temp: value() }), codes]),
        ...hostileKeyObjects().map((o, i): ValueCase => [`hostile keys ${i + 1} with a metric`, () => ({ ...o, temp: 35, valueOf: 5, toString: 5 })]),
        ['{ valueOf: 5, toString: 5, constructor: 5 }', () => ({ valueOf: 5, toString: 5, constructor: 5 })],
      ]),
      ...withValues(good, 'timestamp', [...each([-1, 1e20, '2024-13-45', '']), ...hostileValues()]),
      ...controlCases(),
    ]);

    it('still raises an alarm afterwards', async () => {
      const outcome = await run.send({ deviceId: `after-${++serial}`, payload: { temp: 35 } });
      assert.strictEqual(outcome.error, undefined, outcome.error?.message);
      const raised = outcome.outputs.map((m) => m.payload as { event: string; rule: string; text: string });
      assert.deepStrictEqual(
        raised.map((e) => [e.rule, e.event]),
        [['too-warm', 'raised']],
      );
      assert.doesNotMatch(raised[0].text, /function|native code/, 'alarm text shows no function source');
      run.watch.assertClean();
    });
  });
}
