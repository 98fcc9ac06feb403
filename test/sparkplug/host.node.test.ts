import assert from 'assert';
import { newClient, type UPayload } from 'sparkplug-client';
import type { StatusEvent } from '../../lib/command/types';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { MemoryStore } from '../../lib/registry/stores/memory';
import commandNode from '../../nodes/m2m-command/m2m-command';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import hostNode from '../../nodes/m2m-sparkplug-host/m2m-sparkplug-host';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { useSparkplugBroker } from './broker-hooks';

// The m2m-sparkplug-host node in a flow, with a registry and an m2m-command on the Sparkplug transport, against
// Tahu's edge client over the real broker: births register devices, deaths mark them offline at once, a command
// arrives at the edge client as a DCMD it decodes, and a Sparkplug command topic is refused with the MQTT transport.

const MODULES = [catchNode, registryNode as NodeModule, hostNode as NodeModule, commandNode as NodeModule];
const RUN = Math.random().toString(36).slice(2, 8);
const GROUP = `node-${RUN}`;

function flow(broker: string, command: Record<string, unknown>): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'reg', type: 'm2m-registry', name: 'plant', storeType: 'memory', offlineTimeout: 3600 },
    {
      id: 'host',
      type: 'm2m-sparkplug-host',
      z: 'f1',
      registry: 'reg',
      broker,
      hostId: `h-${RUN}`,
      groups: GROUP,
      types: '{}',
      wires: [['telemetry'], ['events']],
    },
    { id: 'telemetry', type: 'helper', z: 'f1' },
    { id: 'events', type: 'helper', z: 'f1' },
    { id: 'cmd', type: 'm2m-command', z: 'f1', timeout: 5, sparkplugHost: 'host', ...command, wires: [['transport'], ['status']] },
    { id: 'transport', type: 'helper', z: 'f1' },
    { id: 'status', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

describe('m2m-sparkplug-host node with m2m-registry and m2m-command (Tahu edge client)', function () {
  this.timeout(20000);
  const broker = useSparkplugBroker(`h-${RUN}`);
  afterEach(async () => {
    await helper.unload();
    MemoryStore.forget('reg');
  });

  it('births register the edge node and device, a DCMD from m2m-command reaches the edge client decoded, a death marks them offline', async () => {
    await helper.load(MODULES, flow(broker.url, { transport: 'sparkplug' }));
    const telemetry = collect(helper.getNode('telemetry'));
    const events = collect(helper.getNode('events'));
    const statuses = collect(helper.getNode('status'));
    const transport = collect(helper.getNode('transport'));
    const registry = (helper.getNode('reg') as unknown as { registry: DeviceRegistryApi }).registry;
    await waitFor(() => (helper.getNode('host') as unknown as { sparkplug?: unknown }).sparkplug !== undefined, 'the host node');

    const edge = newClient({ serverUrl: broker.url, groupId: GROUP, edgeNode: 'E1', clientId: `tahu-node-${RUN}`, username: '', password: '' });
    const dcmds: UPayload[] = [];
    edge.on('dcmd', (device, payload) => {
      dcmds.push(payload);
      edge.publishDeviceData(device, { timestamp: Date.now(), metrics: payload.metrics ?? [] });
    });
    edge.on('birth', () => {
      edge.publishNodeBirth({ timestamp: Date.now(), metrics: [{ name: 'uptime', alias: 1, type: 'Int64', value: 5 }] });
      edge.publishDeviceBirth('D1', {
        timestamp: Date.now(),
        metrics: [
          { name: 'setpoint', alias: 2, type: 'Float', value: 20 },
          { name: 'temp', alias: 3, type: 'Double', value: 21.5 },
        ],
      });
    });
    try {
      await waitFor(() => registry.isOnline(`${GROUP}:E1:D1`), 'the device registered and online');
      const device = registry.get(`${GROUP}:E1:D1`);
      assert.deepStrictEqual((device?.attributes.sparkplug as { metrics: unknown }).metrics, {
        setpoint: { datatype: 'Float', alias: 2 },
        temp: { datatype: 'Double', alias: 3 },
      });
      assert.ok(registry.isOnline(`${GROUP}:E1`));
      await waitFor(() => telemetry.some((m) => m.deviceId === `${GROUP}:E1:D1`), 'birth telemetry');
      assert.deepStrictEqual(telemetry.find((m) => m.deviceId === `${GROUP}:E1:D1`)?.payload, { setpoint: 20, temp: 21.5 });

      helper.getNode('cmd').receive({ deviceId: `${GROUP}:E1:D1`, command: 'write', payload: { setpoint: 22.25 } });
      await waitFor(() => statuses.some((m) => (m.payload as StatusEvent).status === 'succeeded'), 'the write confirmed');
      assert.deepStrictEqual(
        statuses.map((m) => (m.payload as StatusEvent).status),
        ['sent', 'succeeded'],
      );
      assert.deepStrictEqual(
        dcmds.map((p) => p.metrics?.map((m) => [m.name, m.type, m.value])),
        [[['setpoint', 'Float', 22.25]]],
      );
      assert.deepStrictEqual(transport, [], 'nothing on the JSON transport output');

      (edge as unknown as { client: { stream: { destroy(): void }; options: { reconnectPeriod: number } } }).client.options.reconnectPeriod = 0;
      (edge as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
      await waitFor(() => !registry.isOnline(`${GROUP}:E1:D1`) && !registry.isOnline(`${GROUP}:E1`), 'both offline at once, by the will');
      const deaths = events
        .filter((m) => (m.payload as { event: string }).event === 'death')
        .map((m) => [m.deviceId, (m.payload as { stale: string[] }).stale]);
      assert.deepStrictEqual(deaths, [
        [`${GROUP}:E1:D1`, ['setpoint', 'temp']],
        [`${GROUP}:E1`, ['uptime']],
      ]);
    } finally {
      try {
        edge.stop();
      } catch {
        // gone already
      }
    }
  });

  it('a command to a device that is not online is refused (DEVICE_NOT_FOUND) before anything is published', async () => {
    await helper.load(MODULES, flow(broker.url, { transport: 'sparkplug' }));
    const caught = collect(helper.getNode('caught'));
    helper.getNode('cmd').receive({ deviceId: `${GROUP}:nobody`, command: 'write', payload: { x: 1 } });
    await waitFor(() => caught.length === 1, 'the error');
    assert.strictEqual((caught[0].error as { code: string }).code, 'DEVICE_NOT_FOUND');
  });

  it('with the MQTT transport, a command topic on spBv1.0/ is refused: no JSON ever reaches an edge node', async () => {
    await helper.load(MODULES, flow(broker.url, { transport: 'mqtt', topic: 'spBv1.0/G/DCMD/E1/{deviceId}' }));
    const caught = collect(helper.getNode('caught'));
    const transport: NodeMessage[] = collect(helper.getNode('transport'));
    helper.getNode('cmd').receive({ deviceId: 'D1', command: 'write', payload: { setpoint: 1 } });
    await waitFor(() => caught.length === 1, 'the error');
    assert.strictEqual((caught[0].error as { code: string }).code, 'INVALID_CONFIG');
    assert.deepStrictEqual(transport, []);
  });
});
