import assert from 'assert';
import fs from 'fs';
import path from 'path';
import type { StatusEvent } from '../../lib/command/types';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { MemoryStore } from '../../lib/registry/stores/memory';
import commandNode from '../../nodes/m2m-command/m2m-command';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import hostNode from '../../nodes/m2m-sparkplug-host/m2m-sparkplug-host';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { catchNode, collect, coreNode, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { startBroker, type TestBroker } from '../helpers/services';

// examples/sparkplug-host.json as shipped, on the test broker under a group and host id of its own: births
// register the simulated presses, a setpoint goes out as a DCMD and comes back, a death and a rebirth show.

const EXAMPLE = path.join(__dirname, '../../examples/sparkplug-host.json');
const RUN = Math.random().toString(36).slice(2, 8);
const GROUP = `Plant1x${RUN}`;
const MODULES: NodeModule[] = [
  coreNode('network/10-mqtt.js'),
  coreNode('common/20-inject.js'),
  coreNode('common/90-comment.js'),
  catchNode,
  registryNode as NodeModule,
  hostNode as NodeModule,
  commandNode as NodeModule,
  simulatorNode as NodeModule,
];

function exampleFlow(broker: TestBroker): FlowNode[] {
  const text = fs
    .readFileSync(EXAMPLE, 'utf8')
    .replace(/Plant1/g, GROUP)
    .replace(/"m2m-host"/g, `"m2m-host-${RUN}"`);
  return (JSON.parse(text) as FlowNode[]).map((node) => {
    if (node.type === 'mqtt-broker') return { ...node, port: String(broker.port) };
    if (node.type === 'm2m-sparkplug-host') return { ...node, broker: broker.url };
    if (node.type === 'debug') return { id: node.id, type: 'helper', z: node.z };
    return node;
  });
}

describe('examples/sparkplug-host.json', function () {
  this.timeout(30_000);
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    const mqtt = await import('mqtt');
    const client = await mqtt.connectAsync(broker.url);
    await client.publishAsync(`spBv1.0/STATE/m2m-host-${RUN}`, '', { retain: true, qos: 1 });
    await client.endAsync();
    await broker.close();
  });
  afterEach(async () => {
    await helper.unload();
    MemoryStore.forget('m2m.ex.sp.registry');
  });

  it('births register the presses, a DCMD setpoint succeeds, a death and a rebirth show in the registry and the events', async () => {
    await helper.load(MODULES, exampleFlow(broker));
    const registry = (helper.getNode('m2m.ex.sp.registry') as unknown as { registry: DeviceRegistryApi }).registry;
    const events = collect(helper.getNode('m2m.ex.sp.events'));
    const telemetry = collect(helper.getNode('m2m.ex.sp.telemetry'));
    const status = collect(helper.getNode('m2m.ex.sp.status'));
    const errors: NodeMessage[] = collect(helper.getNode('m2m.ex.sp.errors'));
    const press = (n: number): string => `${GROUP}:Line1:press-00${n}`;
    const births = (): number => events.filter((m) => (m.payload as { event: string }).event === 'birth').length;

    // the simulator may have sent its births before the host subscribed: data from an unknown node asks for a rebirth
    await waitFor(() => registry.isOnline(press(1)) && registry.isOnline(press(2)), 'both presses registered and online', 20000);
    assert.strictEqual(registry.get(press(1))?.type, 'press');
    assert.deepStrictEqual(Object.keys((registry.get(press(2))?.attributes.sparkplug as { metrics: object }).metrics), ['temperature', 'pressure', 'setpoint']);
    await waitFor(
      () => telemetry.some((m) => m.deviceId === press(1) && typeof (m.payload as { temperature?: unknown }).temperature === 'number'),
      'telemetry',
    );

    helper.getNode('m2m.ex.sp.write').receive({});
    await waitFor(() => status.some((m) => (m.payload as StatusEvent).status === 'succeeded'), 'the setpoint confirmed');

    helper.getNode('m2m.ex.sp.die').receive({});
    await waitFor(() => !registry.isOnline(press(1)) && !registry.isOnline(`${GROUP}:Line1`), 'the edge node and its devices offline');
    const before = births();
    helper.getNode('m2m.ex.sp.reborn').receive({});
    await waitFor(() => births() >= before + 3 && registry.isOnline(press(1)), 'the births again');
    helper.getNode('m2m.ex.sp.ddeath').receive({});
    await waitFor(() => !registry.isOnline(press(1)) && registry.isOnline(press(2)), 'press-001 alone offline');
    helper.getNode('m2m.ex.sp.dbirth').receive({});
    await waitFor(() => registry.isOnline(press(1)), 'press-001 back');
    assert.deepStrictEqual(errors, []);
  });
});
