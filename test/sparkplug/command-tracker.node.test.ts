import assert from 'assert';
import { newClient, type UPayload } from 'sparkplug-client';
import type { StatusEvent } from '../../lib/command/types';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { MemoryStore } from '../../lib/registry/stores/memory';
import commandNode from '../../nodes/m2m-command/m2m-command';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import hostNode from '../../nodes/m2m-sparkplug-host/m2m-sparkplug-host';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { useSparkplugBroker } from './broker-hooks';

// m2m-command with the Sparkplug transport goes through the same command tracker as MQTT: a command to an offline
// device is queued and written when its DBIRTH comes, the device type's parameter schema is checked, and a write
// still waiting for its value to come back survives a redeploy. Against Tahu's edge client over the real broker.

interface RawHelper {
  setFlows(flow: FlowNode[], type: 'full' | 'nodes'): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const raw = require('node-red-node-test-helper') as RawHelper;

const MODULES = [catchNode, registryNode as NodeModule, hostNode as NodeModule, commandNode as NodeModule];
const RUN = Math.random().toString(36).slice(2, 8);
const GROUP = `cmd-${RUN}`;
const D1 = `${GROUP}:E1:D1`;
const TYPES = JSON.stringify([
  {
    name: 'press',
    commands: {
      setpoint: {
        paramsSchema: { type: 'object', properties: { setpoint: { type: 'number', maximum: 100 } }, required: ['setpoint'], additionalProperties: false },
      },
    },
  },
]);

function flow(broker: string): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'reg', type: 'm2m-registry', name: 'plant', storeType: 'memory', offlineTimeout: 3600, deviceTypes: TYPES },
    {
      id: 'host',
      type: 'm2m-sparkplug-host',
      z: 'f1',
      registry: 'reg',
      broker,
      hostId: `h-${RUN}`,
      groups: GROUP,
      types: JSON.stringify({ '*': 'press' }),
      wires: [[], []],
    },
    {
      id: 'cmd',
      type: 'm2m-command',
      z: 'f1',
      registry: 'reg',
      timeout: 15,
      transport: 'sparkplug',
      sparkplugHost: 'host',
      wires: [['transport'], ['status']],
    },
    { id: 'transport', type: 'helper', z: 'f1' },
    { id: 'status', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

type Edge = ReturnType<typeof newClient>;

/** Tahu's edge client E1 with device D1 (setpoint Float, temp Double); echoes each DCMD in DDATA when `echo` says so. */
function startEdge(broker: string, dcmds: UPayload[], echo: () => boolean): Edge {
  const edge = newClient({ serverUrl: broker, groupId: GROUP, edgeNode: 'E1', clientId: `tahu-cmd-${RUN}`, username: '', password: '' });
  edge.on('dcmd', (device, payload) => {
    dcmds.push(payload);
    if (echo()) edge.publishDeviceData(device, { timestamp: Date.now(), metrics: payload.metrics ?? [] });
  });
  edge.on('birth', () => {
    edge.publishNodeBirth({ timestamp: Date.now(), metrics: [{ name: 'uptime', alias: 1, type: 'Int64', value: 5 }] });
    deviceBirth(edge);
  });
  return edge;
}
function deviceBirth(edge: Edge): void {
  edge.publishDeviceBirth('D1', {
    timestamp: Date.now(),
    metrics: [
      { name: 'setpoint', alias: 2, type: 'Float', value: 20 },
      { name: 'temp', alias: 3, type: 'Double', value: 21.5 },
    ],
  });
}
const statusesOf = (messages: { payload?: unknown }[]): string[] => messages.map((m) => (m.payload as StatusEvent).status);
const registryOf = (): DeviceRegistryApi => (helper.getNode('reg') as unknown as { registry: DeviceRegistryApi }).registry;

describe('m2m-command Sparkplug transport through the command tracker (Tahu edge client)', function () {
  this.timeout(30000);
  const broker = useSparkplugBroker(`h-${RUN}`);
  let edge: Edge | undefined;
  afterEach(async () => {
    try {
      edge?.stop();
    } catch {
      // gone already
    }
    edge = undefined;
    await helper.unload();
    MemoryStore.forget('reg');
  });

  it('checks the device type schema, queues a command while the device is offline and writes it at its DBIRTH, confirmed by the DDATA', async () => {
    await helper.load(MODULES, flow(broker.url));
    const statuses = collect(helper.getNode('status'));
    const caught = collect(helper.getNode('caught'));
    const transport = collect(helper.getNode('transport'));
    const dcmds: UPayload[] = [];
    edge = startEdge(broker.url, dcmds, () => true);
    await waitFor(() => registryOf().isOnline(D1), 'D1 born and online');

    helper.getNode('cmd').receive({ deviceId: D1, command: 'setpoint', payload: { setpoint: 500 } });
    await waitFor(() => caught.length === 1, 'the schema refusal');
    assert.strictEqual((caught[0].error as { code: string }).code, 'SCHEMA_VALIDATION');
    assert.deepStrictEqual(statusesOf(statuses), ['rejected']);

    edge.publishDeviceDeath('D1', { timestamp: Date.now() });
    await waitFor(() => !registryOf().isOnline(D1), 'D1 offline by its DDEATH');
    helper.getNode('cmd').receive({ deviceId: D1, command: 'setpoint', payload: { setpoint: 30.5 } });
    await waitFor(() => statuses.length === 2, 'the queued status');
    assert.deepStrictEqual(statusesOf(statuses), ['rejected', 'queued']);

    deviceBirth(edge);
    await waitFor(() => statusesOf(statuses).includes('succeeded'), 'written at the DBIRTH and confirmed by the DDATA');
    assert.deepStrictEqual(statusesOf(statuses), ['rejected', 'queued', 'sent', 'succeeded']);
    assert.deepStrictEqual(
      dcmds.map((p) => p.metrics?.map((m) => [m.name, m.type, m.value])),
      [[['setpoint', 'Float', 30.5]]],
      'one DCMD, after the DBIRTH: none while offline',
    );
    assert.deepStrictEqual((statuses[3].payload as StatusEvent).response, { setpoint: 30.5 });
    assert.deepStrictEqual(transport, [], 'nothing on the JSON output');
  });

  it('a write sent before a full redeploy is still confirmed after it by the value coming back', async () => {
    await helper.load(MODULES, flow(broker.url));
    const before = collect(helper.getNode('status'));
    const dcmds: UPayload[] = [];
    edge = startEdge(broker.url, dcmds, () => false);
    await waitFor(() => registryOf().isOnline(D1), 'D1 born and online');
    helper.getNode('cmd').receive({ deviceId: D1, command: 'setpoint', payload: { setpoint: 42 }, commandId: 'keep-me' });
    await waitFor(() => dcmds.length === 1, 'the DCMD at the edge client');
    assert.deepStrictEqual(statusesOf(before), ['sent']);

    await raw.setFlows(flow(broker.url), 'full');
    const after = collect(helper.getNode('status'));
    await waitFor(() => (helper.getNode('host') as unknown as { sparkplug?: unknown }).sparkplug !== undefined, 'the host node again');
    // the edge node reports the written value until the new host (its session subscribing) has seen it
    const report = setInterval(
      () => edge?.publishDeviceData('D1', { timestamp: Date.now(), metrics: [{ name: 'setpoint', alias: 2, type: 'Float', value: 42 }] }),
      100,
    );
    try {
      await waitFor(() => statusesOf(after).includes('succeeded'), 'the restored write confirmed');
    } finally {
      clearInterval(report);
    }
    assert.deepStrictEqual(statusesOf(after), ['succeeded'], 'neither canceled nor sent again by the redeploy');
    const done = after.find((m) => (m.payload as StatusEvent).status === 'succeeded')?.payload as StatusEvent;
    assert.strictEqual(done.id, 'keep-me');
    assert.deepStrictEqual(done.response, { setpoint: 42 });
    assert.strictEqual(dcmds.length, 1, 'written once');
  });
});
