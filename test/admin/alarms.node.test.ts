import assert from 'assert';
import sinon from 'sinon';
import type { AlarmEvent, RuleDefinition } from '../../lib/rules';
import { MemoryStore } from '../../lib/registry/stores/memory';
import type { DeviceRegistry } from '../../lib/registry';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { commsMessages, serveHelperAdmin, type AdminClient } from './harness';

const MODULES = [registryNode as NodeModule, ruleNode as NodeModule];
const RULES: RuleDefinition[] = [
  { name: 'high temp', metric: 'temp', severity: 'critical', raise: { op: '>', value: 80 }, text: '{{deviceId}} is at {{value}}' },
  { name: 'low-battery', metric: 'battery', severity: 'warning', raise: { op: '<', value: 20 } },
  { name: 'vibration', metric: 'vib', severity: 'major', raise: { op: '>', value: 5 } },
];

function flow(): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'reg', type: 'm2m-registry', name: 'plant', storeType: 'memory' },
    { id: 'rules', type: 'm2m-rule', z: 'f1', registry: 'reg', rules: RULES, wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' },
    // a second rule node without a registry
    { id: 'loose', type: 'm2m-rule', z: 'f1', rules: [RULES[2]], wires: [['out2']] },
    { id: 'out2', type: 'helper', z: 'f1' },
  ];
}

interface AlarmPage {
  total: number;
  items: Array<{ node: string; deviceId: string; rule: string; severity: string; acknowledged: boolean; shelved: boolean; shelvedUntil: number | null }>;
  counts: Record<string, number>;
}
type Body = { code: string; field?: string; events?: AlarmEvent[] };

const ESC = (rule: string): string => encodeURIComponent(rule);

describe('admin API: alarms', () => {
  let api: AdminClient;
  let out: NodeMessage[];
  let clock: sinon.SinonFakeTimers | undefined;

  async function start(): Promise<void> {
    await helper.load(MODULES, flow());
    const reg = (helper.getNode('reg') as unknown as { registry: DeviceRegistry }).registry;
    await reg.ready();
    for (const id of ['d1', 'd2', 'd3']) await reg.register({ id, name: `<img src=x onerror=alert(1)> ${id}` });
    out = collect(helper.getNode('out'));
    api = await serveHelperAdmin();
  }

  /** Sends telemetry into a rule node and waits for the alarm events it causes. */
  async function raise(node: string, deviceId: string, payload: Record<string, number>, expected: number): Promise<void> {
    const sink = node === 'rules' ? out : collect(helper.getNode('out2'));
    const before = sink.length;
    helper.getNode(node).receive({ deviceId, payload });
    await waitFor(() => sink.length === before + expected, `${expected} alarm events from ${node}`);
  }

  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await api.close();
    await helper.unload();
    MemoryStore.forget('reg');
  });

  it('an ack through the API emits exactly the event the control message emits, with payload.by', async () => {
    // Date frozen (timers real), so the two runs' events carry the same times
    clock = sinon.useFakeTimers({ now: 1_800_000_000_000, toFake: ['Date'] });
    await start();
    await raise('rules', 'd1', { temp: 91 }, 1);
    helper.getNode('rules').receive({ topic: 'ack', deviceId: 'd1', rule: 'high temp', by: 'editor' });
    await waitFor(() => out.length === 2, 'the acknowledged event of the control message');
    const byMessage = out[1];
    await api.close();
    await helper.unload();
    MemoryStore.forget('reg');

    await start();
    await raise('rules', 'd1', { temp: 91 }, 1);
    const res = await api.post(`/m2m/alarms/rules/d1/${ESC('high temp')}/ack`);
    assert.strictEqual(res.status, 200, JSON.stringify(res.body));
    await waitFor(() => out.length === 2, 'the acknowledged event of the API');
    const byApi = out[1];
    const { _msgid: _a, ...expected } = byMessage;
    const { _msgid: _b, ...actual } = byApi;
    assert.deepStrictEqual(actual, expected);
    const payload = byApi.payload as AlarmEvent & { by: string };
    assert.deepStrictEqual([payload.event, payload.acknowledged, payload.by, byApi.topic], ['acknowledged', true, 'editor', 'alarm/d1/high temp']);
    assert.deepStrictEqual((res.body as Body).events, [payload], 'the API answers the events it caused');
  });

  it('lists active alarms of every rule node, unacknowledged first, with counts per severity and filters', async () => {
    await start();
    await raise('rules', 'd1', { temp: 90, battery: 10 }, 2);
    await raise('rules', 'd2', { vib: 9 }, 1);
    await raise('loose', 'd3', { vib: 7 }, 1);
    assert.strictEqual((await api.post('/m2m/alarms/rules/d1/low-battery/ack')).status, 200);

    const all = (await api.get('/m2m/alarms')).body as AlarmPage;
    const shown = all.items.map((a) => `${a.node}/${a.deviceId}/${a.rule}/${a.severity}/${a.acknowledged ? 'acked' : 'unacked'}`);
    // unacknowledged first, by severity (critical first), the acknowledged last
    assert.strictEqual(shown[0], 'rules/d1/high temp/critical/unacked');
    assert.deepStrictEqual(shown.slice(1, 3).sort(), ['loose/d3/vibration/major/unacked', 'rules/d2/vibration/major/unacked']);
    assert.strictEqual(shown[3], 'rules/d1/low-battery/warning/acked');
    assert.deepStrictEqual(all.counts, { critical: 1, major: 2, minor: 0, warning: 1, unacknowledged: 3 });

    const q = async (query: string): Promise<string[]> =>
      ((await api.get(`/m2m/alarms?${query}`)).body as AlarmPage).items.map((a) => `${a.node}/${a.deviceId}/${a.rule}`);
    assert.deepStrictEqual(await q('severity=critical'), ['rules/d1/high temp']);
    assert.deepStrictEqual(await q('acknowledged=true'), ['rules/d1/low-battery']);
    assert.deepStrictEqual((await q('deviceId=d1')).sort(), ['rules/d1/high temp', 'rules/d1/low-battery']);
    assert.deepStrictEqual(await q('registry=reg&severity=major'), ['rules/d2/vibration'], "the node without a registry is not the registry's");
    assert.deepStrictEqual(await q('limit=1&offset=3'), ['rules/d1/low-battery']);
    for (const [query, field] of [
      ['severity=fatal', 'severity'],
      ['acknowledged=1', 'acknowledged'],
      ['deviceId=a%20b', 'deviceId'],
      ['registry=nope', 'registry'],
    ]) {
      const res = await api.get(`/m2m/alarms?${query}`);
      assert.deepStrictEqual([res.status, (res.body as Body).field], [query === 'registry=nope' ? 404 : 400, field], query);
    }

    const device = (await api.get('/m2m/registries/reg/devices/d3')).body as { name: string; alarms: Array<{ node: string }> };
    assert.deepStrictEqual(
      device.alarms.map((a) => a.node),
      ['loose'],
      'a device shows the alarms of rule nodes without a registry too',
    );
    assert.strictEqual(device.name, '<img src=x onerror=alert(1)> d3', 'names are data, returned as they are');
  });

  it('shelves for the given seconds, unshelves, resets, and acknowledges all alarms of a device at once', async () => {
    await start();
    await raise('rules', 'd1', { temp: 90, battery: 10, vib: 8 }, 3);
    const before = Date.now();
    const shelved = await api.post(`/m2m/alarms/rules/d1/${ESC('high temp')}/shelve`, { duration: 120 });
    assert.strictEqual(shelved.status, 200, JSON.stringify(shelved.body));
    assert.deepStrictEqual(
      (shelved.body as Body).events?.map((e) => e.event),
      ['shelved'],
    );
    const listed = ((await api.get('/m2m/alarms?severity=critical')).body as AlarmPage).items[0];
    assert.strictEqual(listed.shelved, true);
    assert.ok(listed.shelvedUntil !== null && listed.shelvedUntil >= before + 120_000 && listed.shelvedUntil <= Date.now() + 120_000);
    assert.deepStrictEqual(
      ((await api.post(`/m2m/alarms/rules/d1/${ESC('high temp')}/unshelve`)).body as Body).events?.map((e) => e.event),
      ['unshelved'],
    );

    const all = await api.post('/m2m/alarms/rules/d1/ack');
    assert.strictEqual(all.status, 200);
    assert.deepStrictEqual((all.body as Body).events?.map((e) => `${e.rule}:${e.event}`).sort(), [
      'high temp:acknowledged',
      'low-battery:acknowledged',
      'vibration:acknowledged',
    ]);
    await waitFor(() => out.length === 8, 'every event on output 1');
    assert.deepStrictEqual(
      out.slice(3).map((m) => (m.payload as { by?: string }).by),
      ['editor', 'editor', 'editor', 'editor', 'editor'],
    );

    const reset = await api.post('/m2m/alarms/rules/d1/vibration/reset');
    assert.strictEqual(reset.status, 200, JSON.stringify(reset.body));
    assert.strictEqual(((await api.get('/m2m/alarms?deviceId=d1')).body as AlarmPage).total, 2);
  });

  it('tells the editor through RED.comms when telemetry raises an alarm', async () => {
    await start();
    const comms = commsMessages();
    try {
      // let the updates of the start go out first (one per 250 ms at most), so only the alarm's can be seen
      await new Promise((resolve) => setTimeout(resolve, 300));
      await raise('rules', 'd2', { vib: 9 }, 1);
      await waitFor(() => comms.messages.some((m) => m.topic === 'm2m/alarms'), 'an m2m/alarms update');
    } finally {
      comms.stop();
    }
  });

  it('refuses what does not exist (404), what changes nothing (409) and bad input (400), naming the field', async () => {
    await start();
    await raise('rules', 'd1', { temp: 90 }, 1);
    assert.strictEqual((await api.post(`/m2m/alarms/rules/d1/${ESC('high temp')}/ack`)).status, 200);
    const cases: Array<[string, unknown, number, string, string?]> = [
      [`/m2m/alarms/rules/d1/${ESC('high temp')}/ack`, undefined, 409, 'NO_TRANSITION'],
      ['/m2m/alarms/nobody/d1/vibration/ack', undefined, 404, 'NODE_NOT_FOUND', 'node'],
      ['/m2m/alarms/rules/d1/no-such-rule/ack', undefined, 404, 'RULE_NOT_FOUND', 'rule'],
      ['/m2m/alarms/rules/ghost/vibration/ack', undefined, 404, 'DEVICE_NOT_FOUND', 'deviceId'],
      ['/m2m/alarms/rules/d%2F1/vibration/ack', undefined, 400, 'INVALID_DEVICE_ID', 'deviceId'],
      ['/m2m/alarms/rules/d1/a%2Bb/ack', undefined, 400, 'INVALID_FIELD', 'rule'],
      ['/m2m/alarms/rules/d1/vibration/acknowledge', undefined, 400, 'INVALID_FIELD', 'op'],
      [`/m2m/alarms/rules/d1/${ESC('high temp')}/shelve`, { duration: 'an hour' }, 400, 'INVALID_FIELD', 'duration'],
      [`/m2m/alarms/rules/d1/${ESC('high temp')}/shelve`, { duration: -5 }, 400, 'INVALID_FIELD', 'duration'],
      [`/m2m/alarms/rules/d1/${ESC('high temp')}/shelve`, ['duration', 5], 400, 'INVALID_FIELD', 'body'],
    ];
    for (const [path, body, status, code, field] of cases) {
      const res = await api.post(path, body);
      assert.deepStrictEqual([res.status, (res.body as Body).code, (res.body as Body).field], [status, code, field ?? 'op'], path);
    }
    const broken = await api.postRaw(`/m2m/alarms/rules/d1/${ESC('high temp')}/shelve`, '{"duration": 6', 'application/json');
    assert.deepStrictEqual([broken.status, (broken.body as Body).field], [400, 'body']);
    assert.strictEqual(out.length, 2, 'nothing else left the node');
  });
});
