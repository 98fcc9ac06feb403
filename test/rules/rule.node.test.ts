import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import sinon from 'sinon';
import { catchNode, collect, helper, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { NodeMessage } from '../../nodes/shared/node-red';
import type { AlarmEvent, AlarmState, PersistedDevice, RuleDefinition } from '../../lib/rules';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';

const MODULES = [registryNode as NodeModule, ruleNode as NodeModule, catchNode];

const TOO_WARM: RuleDefinition = {
  name: 'too-warm',
  metric: 'temp',
  severity: 'major',
  raise: { op: '>', value: 30 },
  clear: { op: '<', value: 28 },
  text: '{{deviceId}}: {{metric}} {{value}} above {{threshold}}',
};
const SLOW: RuleDefinition = { name: 'humid', metric: 'hum', severity: 'minor', raise: { op: '>', value: 80 }, raiseDelay: 300 };

function flow(rules: RuleDefinition[], extra: Record<string, unknown> = {}, registryId?: string, storeType = 'memory'): FlowNode[] {
  const nodes: FlowNode[] = [
    { id: 'rule', type: 'm2m-rule', z: 'f1', rules, outputs: 2, ...extra, wires: [['alarms'], ['tele']] },
    { id: 'alarms', type: 'helper', z: 'f1' },
    { id: 'tele', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'f1', type: 'tab' },
  ];
  if (registryId)
    nodes.push({ id: registryId, type: 'm2m-registry', name: 'plant', storeType, offlineTimeout: 60, deviceTypes: '[{"name":"freezer"},{"name":"chiller"}]' });
  return nodes;
}

/** Collects everything a helper node receives. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
const events = (msgs: NodeMessage[]): string[] => msgs.map((m) => `${(m.payload as AlarmEvent).event}:${m.deviceId}:${(m.payload as AlarmEvent).rule}`);

describe('m2m-rule node', () => {
  let clock: sinon.SinonFakeTimers | undefined;
  const fake = (): sinon.SinonFakeTimers => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    return clock;
  };
  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await helper.unload();
  });

  it('sends alarm events on transitions only, keeping the incoming message, and passes telemetry through with its alarms', async () => {
    await helper.load(MODULES, flow([TOO_WARM]));
    const rule = helper.getNode('rule');
    const alarms = collect(helper.getNode('alarms'));
    const tele = collect(helper.getNode('tele'));
    for (const temp of [25, 31, 32, 29, 31, 27]) rule.receive({ deviceId: 'fr-1', payload: { temp, door: 0 }, site: 'hall-a', timestamp: 5 });
    await settle();
    assert.deepStrictEqual(events(alarms), ['raised:fr-1:too-warm', 'cleared:fr-1:too-warm']);
    const raised = alarms[0];
    assert.strictEqual(raised.topic, 'alarm/fr-1/too-warm');
    assert.strictEqual(raised.site, 'hall-a');
    const payload = raised.payload as AlarmEvent;
    assert.deepStrictEqual(
      Object.keys(payload).sort(),
      ['acknowledged', 'active', 'alarmId', 'deviceId', 'event', 'metric', 'raisedAt', 'rule', 'severity', 'text', 'threshold', 'ts', 'value'].sort(),
    );
    assert.strictEqual(payload.text, 'fr-1: temp 31 above 30');
    assert.strictEqual(tele.length, 6);
    assert.deepStrictEqual(tele[0].payload, { temp: 25, door: 0 });
    assert.deepStrictEqual((tele[0].alarms as AlarmState[]).length, 0);
    assert.deepStrictEqual(
      (tele[3].alarms as AlarmState[]).map((a) => [a.rule, a.active]),
      [['too-warm', true]],
    );
    assert.deepStrictEqual(tele[5].alarms, []);
  });

  it('a raise delay fires from a timer, with no further message', async () => {
    await helper.load(MODULES, flow([SLOW], { outputs: 1 }));
    fake();
    const alarms = collect(helper.getNode('alarms'));
    helper.getNode('rule').receive({ deviceId: 'd1', payload: { hum: 90 } });
    clock!.tick(299_000);
    await settle();
    assert.strictEqual(alarms.length, 0);
    clock!.tick(1000);
    await settle();
    assert.deepStrictEqual(events(alarms), ['raised:d1:humid']);
  });

  it('control messages: ack, shelve, unshelve, reset, list', async () => {
    await helper.load(MODULES, flow([TOO_WARM], { outputs: 1 }));
    const rule = helper.getNode('rule');
    const alarms = collect(helper.getNode('alarms'));
    rule.receive({ deviceId: 'fr-1', payload: { temp: 35 } });
    rule.receive({ topic: 'ack', deviceId: 'fr-1', rule: 'too-warm' });
    rule.receive({ topic: 'shelve', deviceId: 'fr-2', duration: 600 });
    rule.receive({ deviceId: 'fr-2', payload: { temp: 35 } });
    rule.receive({ topic: 'list' });
    await settle();
    assert.deepStrictEqual(events(alarms.slice(0, 3)), ['raised:fr-1:too-warm', 'acknowledged:fr-1:too-warm', 'shelved:fr-2:too-warm']);
    const list = alarms[3].payload as AlarmState[];
    assert.strictEqual(alarms[3].topic, 'list');
    assert.deepStrictEqual(
      list.map((a) => [a.deviceId, a.acknowledged, a.shelved]),
      [
        ['fr-1', true, false],
        ['fr-2', false, true],
      ],
    );
    rule.receive({ topic: 'unshelve', deviceId: 'fr-2', rule: 'too-warm' });
    rule.receive({ topic: 'reset', deviceId: 'fr-1' });
    await settle();
    assert.deepStrictEqual(events(alarms.slice(4)), ['unshelved:fr-2:too-warm', 'raised:fr-2:too-warm', 'cleared:fr-1:too-warm']);
  });

  describe('bad input reaches a Catch node, naming the rule and metric, and changes nothing', () => {
    const cases: Array<[string, NodeMessage, RegExp]> = [
      ['a non-numeric value', { deviceId: 'fr-1', payload: { temp: 'warm' } }, /rule "too-warm" metric "temp": value "warm" is not a number/],
      ['a missing deviceId', { payload: { temp: 40 } }, /msg\.deviceId must be a string, got undefined; needed by rule "too-warm" \(temp\)/],
      ['a control message without deviceId', { topic: 'ack', rule: 'too-warm' }, /ack: msg\.deviceId must be a string/],
      [
        'a control message naming an unknown rule',
        { topic: 'shelve', deviceId: 'fr-1', rule: 'nope', duration: 60 },
        /shelve: msg\.rule "nope" is not a rule of this node/,
      ],
      [
        'a shelve with a bad duration',
        { topic: 'shelve', deviceId: 'fr-1', rule: 'too-warm', duration: 'later' },
        /shelve: msg\.duration must be a positive number/,
      ],
      ['a list with a non-string deviceId', { topic: 'list', deviceId: 7 }, /list: msg\.deviceId must be a string/],
    ];
    for (const [name, msg, reason] of cases) {
      it(name, async () => {
        await helper.load(MODULES, flow([TOO_WARM]));
        const rule = helper.getNode('rule');
        const caught = collect(helper.getNode('caught'));
        const alarms = collect(helper.getNode('alarms'));
        const statuses: unknown[] = [];
        rule.on('call:status', (call) => statuses.push(call.args[0]));
        rule.receive({ deviceId: 'fr-1', payload: { temp: 35 } });
        rule.receive(msg);
        rule.receive({ topic: 'list' });
        await settle();
        assert.strictEqual(caught.length, 1);
        assert.match((caught[0].error as { message: string }).message, reason);
        assert.ok(statuses.some((s) => (s as { fill?: string }).fill === 'red'));
        const list = alarms[alarms.length - 1].payload as AlarmState[];
        assert.deepStrictEqual(
          list.map((a) => [a.deviceId, a.active, a.acknowledged, a.shelved]),
          [['fr-1', true, false, false]],
          'state unchanged',
        );
      });
    }

    it('an invalid rule list is reported at deploy, and every message then errors', async () => {
      await helper.load(MODULES, flow([{ ...TOO_WARM, severity: 'huge' as 'major' }]));
      const caught = collect(helper.getNode('caught'));
      helper.getNode('rule').receive({ deviceId: 'fr-1', payload: { temp: 35 } });
      await settle();
      assert.match((caught[0].error as { message: string }).message, /rule "too-warm": severity must be one of/);
    });
  });

  it("after a bad reading's red badge, the next good message brings the normal badge back", async () => {
    await helper.load(MODULES, flow([TOO_WARM]));
    const rule = helper.getNode('rule');
    await settle();
    const statuses: Array<{ fill?: string; text?: string }> = [];
    rule.on('call:status', (call) => statuses.push(call.args[0] as { fill?: string }));
    rule.receive({ deviceId: 'fr-1', payload: { temp: 'warm' } });
    await settle();
    assert.strictEqual(statuses.at(-1)?.fill, 'red');
    rule.receive({ deviceId: 'fr-1', payload: { temp: 20 } });
    await settle();
    assert.deepStrictEqual(statuses.at(-1), { fill: 'green', shape: 'dot', text: 'no alarms' });
  });

  it('a rule whose metric never arrives warns once, naming the rule and the metric', async () => {
    await helper.load(MODULES, flow([TOO_WARM]));
    const rule = helper.getNode('rule');
    const warnings: unknown[] = [];
    rule.on('call:warn', (call) => warnings.push(call.args[0]));
    for (let i = 0; i < 50; i++) rule.receive({ deviceId: `fr-${i % 3}`, payload: { temperature: 20 } });
    await settle();
    assert.strictEqual(warnings.length, 1);
    assert.match(String(warnings[0]), /rule "too-warm": none of the first 20 messages carried metric "temp" \(the last one had "temperature"\)/);
  });

  describe('with an m2m-registry', () => {
    let regId: string;
    beforeEach(() => {
      regId = `reg${Math.random().toString(36).slice(2)}`;
    });
    const registryOf = (id: string): DeviceRegistryApi => (helper.getNode(id) as unknown as { registry: DeviceRegistryApi }).registry;

    it("uses each device's attribute as threshold, scopes by type, and drops the state of a removed device", async () => {
      const rules: RuleDefinition[] = [
        { name: 'limit', metric: 'temp', severity: 'critical', raise: { op: '>', value: 'maxTemp', valueType: 'attr' }, scope: 'type', scopeValue: 'freezer' },
      ];
      await helper.load(MODULES, flow(rules, { registry: regId, outputs: 1 }, regId));
      const registry = registryOf(regId);
      await registry.ready();
      await registry.register({ id: 'fz-1', type: 'freezer', attributes: { maxTemp: -15 } });
      await registry.register({ id: 'fz-2', type: 'freezer', attributes: { maxTemp: -20 } });
      await registry.register({ id: 'ch-1', type: 'chiller', attributes: { maxTemp: -30 } });
      const rule = helper.getNode('rule');
      const alarms = collect(helper.getNode('alarms'));
      for (const id of ['fz-1', 'fz-2', 'ch-1']) rule.receive({ deviceId: id, payload: { temp: -17 } });
      await settle();
      assert.deepStrictEqual(events(alarms), ['raised:fz-2:limit']);
      assert.strictEqual((alarms[0].payload as AlarmEvent).threshold, -20);
      await registry.remove('fz-2');
      rule.receive({ topic: 'list' });
      await settle();
      assert.deepStrictEqual(alarms[1].payload, []);
    });

    it('restart: an active alarm and a running delay survive stopping and reloading the flow, with no duplicate raise', async () => {
      const theFlow = flow([TOO_WARM, SLOW], { registry: regId, outputs: 1 }, regId);
      await helper.load(MODULES, theFlow);
      await registryOf(regId).ready();
      fake();
      let alarms = collect(helper.getNode('alarms'));
      helper.getNode('rule').receive({ deviceId: 'fr-1', payload: { temp: 35, hum: 90 } });
      await settle();
      assert.deepStrictEqual(events(alarms), ['raised:fr-1:too-warm']);
      clock!.tick(100_000);
      await helper.unload();
      await helper.load(MODULES, theFlow);
      await registryOf(regId).ready();
      alarms = collect(helper.getNode('alarms'));
      helper.getNode('rule').receive({ deviceId: 'fr-1', payload: { temp: 36, hum: 91 } });
      await settle();
      assert.deepStrictEqual(events(alarms), [], 'no duplicate raise');
      clock!.tick(199_000);
      await settle();
      assert.deepStrictEqual(events(alarms), []);
      clock!.tick(1000);
      await settle();
      assert.deepStrictEqual(events(alarms), ['raised:fr-1:humid'], 'the delay still fires, 300 s after it started');
      helper.getNode('rule').receive({ deviceId: 'fr-1', payload: { temp: 20 } });
      await settle();
      assert.deepStrictEqual(events(alarms), ['raised:fr-1:humid', 'cleared:fr-1:too-warm'], 'and the restored alarm clears');
    });
  });

  it('restart with a file-backed registry: the alarm state is read back from disk, no duplicate raise, the delay fires', async () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-rule-'));
    helper.settings({ userDir });
    try {
      const theFlow = flow([TOO_WARM, SLOW], { registry: 'regfile', outputs: 1 }, 'regfile', 'file');
      await helper.load(MODULES, theFlow);
      const registryOf = (): DeviceRegistryApi => (helper.getNode('regfile') as unknown as { registry: DeviceRegistryApi }).registry;
      await registryOf().ready();
      fake();
      let alarms = collect(helper.getNode('alarms'));
      helper.getNode('rule').receive({ deviceId: 'fr-1', payload: { temp: 35, hum: 90 } });
      await settle();
      clock!.tick(120_000);
      await helper.unload();
      assert.ok(fs.readdirSync(path.join(userDir, 'm2m-registry')).length > 0, 'the store is on disk');
      await helper.load(MODULES, theFlow);
      await registryOf().ready();
      alarms = collect(helper.getNode('alarms'));
      helper.getNode('rule').receive({ deviceId: 'fr-1', payload: { temp: 36, hum: 91 } });
      await settle();
      assert.deepStrictEqual(events(alarms), [], 'no duplicate raise');
      clock!.tick(180_000);
      await settle();
      assert.deepStrictEqual(events(alarms), ['raised:fr-1:humid']);
    } finally {
      helper.settings({});
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });

  it('without a registry the alarm state is also written to the node context, as one value with named fields', async () => {
    await helper.load(MODULES, flow([TOO_WARM, SLOW], { outputs: 1 }));
    const rule = helper.getNode('rule');
    rule.receive({ deviceId: 'fr-1', payload: { temp: 35, hum: 90 } });
    rule.receive({ deviceId: 'fr-2', payload: { temp: 20, hum: 20 } });
    await settle();
    const context = (rule as unknown as { context(): { get(key: string): unknown; keys(): string[] } }).context();
    assert.deepStrictEqual(context.keys(), ['m2mRuleState'], 'one key: device ids with dots are not taken for context paths');
    const saved = context.get('m2mRuleState') as { v: number; entries: Record<string, PersistedDevice> };
    assert.strictEqual(saved.v, 3);
    assert.deepStrictEqual(Object.keys(saved.entries).sort(), ['d:fr-1', 'meta']);
    const alarms = saved.entries['d:fr-1'].alarms;
    assert.deepStrictEqual(
      alarms.map((a) => [a.rule, a.active === true, a.pendingRaise === true]),
      [
        ['too-warm', true, false],
        ['humid', false, true],
      ],
    );
  });
});
