import assert from 'assert';
import sinon from 'sinon';
import type { AlarmRow } from '../../lib/dashboard/alarm-board';
import type { DeviceRow } from '../../lib/dashboard/device-board';
import type { AlarmEvent } from '../../lib/rules';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';
import type { NodeMessage } from '../../nodes/shared/node-red';
import alarmsWidget from '../../nodes/ui-m2m-alarms/ui-m2m-alarms';
import devicesWidget from '../../nodes/ui-m2m-devices/ui-m2m-devices';
import { catchNode, collect, helper, type FlowNode, type NodeModule, waitFor } from '../helpers/node-red';
import { DashboardStub } from './dashboard-stub';

const GROUP = { id: 'grp', type: 'ui-group', name: 'operator' };
/** Every node on one tab: a Catch node sees the errors of its own tab. */
const onTab = (flow: FlowNode[]): FlowNode[] => [
  { id: 'f1', type: 'tab' },
  ...flow.map((n) => (n.type === 'ui-group' ? n : { ...n, z: 'f1', x: 100, y: 100 })),
];
const RULES = [
  { name: 'too-hot', metric: 'temp', severity: 'critical', raise: { op: '>', value: 80 }, text: '{{deviceId}} <b>hot</b>' },
  { name: 'warm', metric: 'temp', severity: 'warning', raise: { op: '>', value: 60 } },
];

/** m2m-rule → ui-m2m-alarms → back into the rule; the rule's events also reach a debug-like helper. */
const alarmFlow = (widget: Record<string, unknown> = {}): FlowNode[] => [
  GROUP,
  { id: 'rule', type: 'm2m-rule', rules: RULES, wires: [['alarms', 'events']] },
  { id: 'alarms', type: 'ui-m2m-alarms', group: 'grp', syncOnStart: false, ...widget, wires: [['rule', 'controls']] },
  { id: 'events', type: 'helper' },
  { id: 'controls', type: 'helper' },
  { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper' },
];

const rowsOf = (updates: Array<Record<string, unknown>>): Map<string, AlarmRow> => {
  const rows = new Map<string, AlarmRow>();
  for (const u of updates) {
    if (u.kind === 'snapshot') rows.clear();
    for (const row of (u.kind === 'snapshot' ? u.items : u.upsert) as AlarmRow[]) rows.set(row.key, row);
    for (const key of (u.remove ?? []) as string[]) rows.delete(key);
  }
  return rows;
};

describe('ui-m2m-alarms (Dashboard 2.0 widget)', () => {
  let dashboard: DashboardStub;
  let clock: sinon.SinonFakeTimers | undefined;
  beforeEach(() => {
    dashboard = new DashboardStub();
  });
  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await helper.unload();
  });

  const load = (flow: FlowNode[]): Promise<void> => helper.load([dashboard.module, ruleNode, alarmsWidget, catchNode] as NodeModule[], onTab(flow));

  it('shows a raised alarm as a new unacknowledged row; ack in the browser reaches the rule, whose event turns the row acknowledged', async () => {
    await load(alarmFlow());
    const events = collect(helper.getNode('events'));
    helper.getNode('rule').receive({ deviceId: 'press-1', payload: { temp: 95 } });
    await waitFor(() => rowsOf(dashboard.updates('alarms')).size === 2, 'two alarm rows');
    const fresh = dashboard.updates('alarms').flatMap((u) => (u.fresh ?? []) as string[]);
    assert.deepStrictEqual(fresh.sort(), ['press-1/too-hot', 'press-1/warm'], 'both flash as new');
    const hot = rowsOf(dashboard.updates('alarms')).get('press-1/too-hot') as AlarmRow;
    assert.deepStrictEqual([hot.severity, hot.state, hot.value, hot.text], ['critical', 'unacknowledged', 95, 'press-1 <b>hot</b>']);

    await dashboard.action('alarms', { m2mWidget: { op: 'ack', deviceId: 'press-1', rule: 'too-hot' } });
    await waitFor(() => rowsOf(dashboard.updates('alarms')).get('press-1/too-hot')?.state === 'acknowledged', 'the row acknowledged');
    const ack = events.map((m) => m.payload as AlarmEvent & { by?: string }).find((e) => e.event === 'acknowledged');
    assert.ok(ack, 'the rule sent its acknowledged event on');
    assert.deepStrictEqual([ack.deviceId, ack.rule, ack.by], ['press-1', 'too-hot', 'dashboard']);
    assert.strictEqual(rowsOf(dashboard.updates('alarms')).get('press-1/warm')?.state, 'unacknowledged', 'the other alarm is untouched');
  });

  it("ack device, shelve and unshelve send the rule's control messages; a cleared alarm leaves the list", async () => {
    await load(alarmFlow({ shelveFor: 600 }));
    const controls = collect(helper.getNode('controls'));
    helper.getNode('rule').receive({ deviceId: 'press-1', payload: { temp: 95 } });
    await waitFor(() => rowsOf(dashboard.updates('alarms')).size === 2, 'two rows');
    await dashboard.action('alarms', { m2mWidget: { op: 'shelve', deviceId: 'press-1', rule: 'warm' } });
    await waitFor(() => rowsOf(dashboard.updates('alarms')).get('press-1/warm')?.state === 'shelved', 'shelved');
    await dashboard.action('alarms', { m2mWidget: { op: 'unshelve', deviceId: 'press-1', rule: 'warm' } });
    await waitFor(() => rowsOf(dashboard.updates('alarms')).get('press-1/warm')?.state === 'unacknowledged', 'unshelved');
    await dashboard.action('alarms', { m2mWidget: { op: 'ack', deviceId: 'press-1' } });
    await waitFor(() => [...rowsOf(dashboard.updates('alarms')).values()].every((r) => r.state === 'acknowledged'), 'all acknowledged');
    assert.deepStrictEqual(
      controls.map((m) => [m.topic, m.deviceId, m.rule, m.duration, m.by]),
      [
        ['shelve', 'press-1', 'warm', 600, 'dashboard'],
        ['unshelve', 'press-1', 'warm', undefined, 'dashboard'],
        ['ack', 'press-1', undefined, undefined, 'dashboard'],
      ],
    );
    helper.getNode('rule').receive({ deviceId: 'press-1', payload: { temp: 20 } });
    await waitFor(() => rowsOf(dashboard.updates('alarms')).size === 0, 'cleared and acknowledged alarms leave the list');
  });

  it('a storm of 1,000 transitions reaches the browsers as a few coalesced deltas, the last state of each row', async () => {
    await load(alarmFlow());
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const widget = helper.getNode('alarms');
    const before = dashboard.updates('alarms').length;
    for (let i = 0; i < 1000; i++) {
      const deviceId = `m-${i % 100}`;
      widget.receive({
        payload: {
          event: i < 900 ? 'raised' : 'acknowledged',
          severity: 'major',
          deviceId,
          rule: 'r',
          active: true,
          acknowledged: i >= 900,
          value: i,
          ts: Date.now(),
        },
      });
    }
    await waitFor(() => rowsOf(dashboard.updates('alarms')).size > 0, 'the first delta');
    clock.tick(1000);
    const sent = dashboard.updates('alarms').slice(before);
    assert.ok(sent.length <= 2, `${sent.length} deltas for 1,000 transitions within 250 ms`);
    const rows = rowsOf(dashboard.updates('alarms'));
    assert.strictEqual(rows.size, 100);
    assert.strictEqual(rows.get('m-0/r')?.state, 'acknowledged');
    assert.strictEqual(rows.get('m-0/r')?.value, 900);
  });

  it('a browser that loads the page gets every row at once (a snapshot); on deploy the rule is asked for its list', async () => {
    await load(alarmFlow({ syncOnStart: true }));
    const controls = collect(helper.getNode('controls'));
    await waitFor(() => controls.some((m) => m.topic === 'list'), 'a list request on deploy');
    helper.getNode('rule').receive({ deviceId: 'oven-2', payload: { temp: 70 } });
    await waitFor(() => rowsOf(dashboard.updates('alarms')).size === 1, 'one row');
    await dashboard.action('alarms', { m2mWidget: { op: 'snapshot' } });
    const snapshot = dashboard.updates('alarms').at(-1) as { kind: string; items: AlarmRow[] };
    assert.strictEqual(snapshot.kind, 'snapshot');
    assert.deepStrictEqual(
      snapshot.items.map((r) => r.key),
      ['oven-2/warm'],
    );
  });

  it('a message that is not an alarm event fails with INVALID_PAYLOAD for a Catch node; the list keeps working', async () => {
    await load(alarmFlow());
    const caught = collect(helper.getNode('caught'));
    helper.getNode('alarms').receive({ payload: 'hello' });
    helper.getNode('alarms').receive({ payload: { event: 'raised', deviceId: 'x', rule: 'r', severity: 'apocalyptic' } });
    await waitFor(() => caught.length === 2, 'two errors caught');
    assert.deepStrictEqual(
      caught.map((m) => (m.error as { code?: string }).code),
      ['INVALID_PAYLOAD', 'INVALID_PAYLOAD'],
    );
    helper.getNode('rule').receive({ deviceId: 'press-1', payload: { temp: 65 } });
    await waitFor(() => rowsOf(dashboard.updates('alarms')).size === 1, 'a row after the bad messages');
  });

  it('without a dashboard group: a red badge and INVALID_CONFIG for every message', async () => {
    await load([
      { id: 'alarms', type: 'ui-m2m-alarms', group: 'nowhere', wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const caught = collect(helper.getNode('caught'));
    helper.getNode('alarms').receive({ payload: {} });
    await waitFor(() => caught.length === 1, 'the error caught');
    assert.strictEqual((caught[0].error as { code?: string }).code, 'INVALID_CONFIG');
  });
});

describe('ui-m2m-devices (Dashboard 2.0 widget)', () => {
  let dashboard: DashboardStub;
  beforeEach(() => {
    dashboard = new DashboardStub();
  });
  afterEach(() => helper.unload());

  const devicesOf = (widgetId: string): Map<string, DeviceRow> => rowsOf(dashboard.updates(widgetId)) as unknown as Map<string, DeviceRow>;

  it('shows the devices of its registry and follows their events; a row click sends the device record', async () => {
    await helper.load([dashboard.module, registryNode, deviceNode, devicesWidget] as NodeModule[], [
      GROUP,
      { id: 'reg', type: 'm2m-registry', name: 'plant', storeType: 'memory', offlineTimeout: 600, deviceTypes: '' },
      { id: 'dev', type: 'm2m-device', registry: 'reg', operation: 'register', upsert: true, wires: [[]] },
      { id: 'devices', type: 'ui-m2m-devices', group: 'grp', registry: 'reg', wires: [['picked']] },
      { id: 'picked', type: 'helper' },
    ]);
    const picked = collect(helper.getNode('picked'));
    helper.getNode('dev').receive({ deviceId: 'press-1', payload: { id: 'press-1', name: '<img src=x onerror=alert(1)>', type: '' } });
    helper.getNode('dev').receive({ deviceId: 'press-2', payload: { id: 'press-2', name: 'Press 2' } });
    await waitFor(() => devicesOf('devices').size === 2, 'two devices');
    assert.strictEqual(devicesOf('devices').get('press-1')?.name, '<img src=x onerror=alert(1)>', 'names pass as they are; the browser shows them as text');
    await dashboard.action('devices', { m2mWidget: { op: 'select', deviceId: 'press-2' } });
    await waitFor(() => picked.length === 1, 'the device sent');
    assert.deepStrictEqual([picked[0].topic, picked[0].deviceId, (picked[0].payload as { name: string }).name], ['device/press-2', 'press-2', 'Press 2']);
  });

  it('without a registry: fed by device events and telemetry (a device seen is online); removed takes the row away', async () => {
    await helper.load([dashboard.module, devicesWidget] as NodeModule[], [GROUP, { id: 'devices', type: 'ui-m2m-devices', group: 'grp', wires: [[]] }]);
    const widget = helper.getNode('devices');
    const device = { id: 'th-1', name: 'Thermo', type: 'sensor', attributes: {}, tags: ['hall'], createdAt: 1, updatedAt: 1, lastSeen: null, online: false };
    widget.receive({ payload: { event: 'registered', deviceId: 'th-1', device, ts: 1 } } as NodeMessage);
    widget.receive({ deviceId: 'th-2', payload: { temp: 21 }, timestamp: 1_700_000_000_000 });
    await waitFor(() => devicesOf('devices').size === 2, 'two rows');
    assert.deepStrictEqual(devicesOf('devices').get('th-2'), {
      key: 'th-2',
      id: 'th-2',
      name: '',
      type: '',
      tags: [],
      online: true,
      lastSeen: 1_700_000_000_000,
    });
    widget.receive({ payload: { event: 'removed', deviceId: 'th-1', device, ts: 2 } } as NodeMessage);
    await waitFor(() => !devicesOf('devices').has('th-1'), 'th-1 removed');
  });
});
