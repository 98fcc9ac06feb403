import assert from 'assert';
import fs from 'fs';
import path from 'path';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { MemoryStore } from '../../lib/registry/stores/memory';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import provisionNode from '../../nodes/m2m-provision/m2m-provision';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import { catchNode, collect, coreNode, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { startBroker, type TestBroker } from '../helpers/services';

const EXAMPLE = path.join(__dirname, '../../examples/provisioning.json');
const REGISTRY = 'm2m.ex.prov.registry';
const CORE = ['common/20-inject.js', 'common/90-comment.js', 'network/10-mqtt.js'].map(coreNode);
const MODULES = [registryNode, deviceNode, provisionNode, simulatorNode].map((m) => m as NodeModule).concat([catchNode, ...CORE]);

/** The example as shipped, on the test broker, the registry in memory, debug nodes as helpers; credentials apart, as Node-RED keeps them. */
function exampleFlow(broker: TestBroker): { flow: FlowNode[]; credentials: Record<string, unknown> } {
  const credentials: Record<string, unknown> = {};
  const flow = (JSON.parse(fs.readFileSync(EXAMPLE, 'utf8')) as FlowNode[]).map((node) => {
    if (node.credentials) credentials[node.id] = node.credentials;
    if (node.type === 'mqtt-broker') return { ...node, port: String(broker.port) };
    if (node.type === 'm2m-registry') return { ...node, storeType: 'memory' };
    if (node.type === 'debug') return { id: node.id, type: 'helper', z: node.z };
    return node;
  });
  return { flow, credentials };
}

function press(id: string): void {
  helper.getNode(`m2m.ex.prov.${id}`).receive({});
}

describe('examples/provisioning.json', function () {
  this.timeout(30_000);
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.close());
  afterEach(async () => {
    await helper.unload();
    MemoryStore.forget(REGISTRY);
  });

  it('a wrong secret is refused; five simulated meters enrol over MQTT 5; a replay is refused; the list shows five meters', async () => {
    MemoryStore.forget(REGISTRY);
    const { flow, credentials } = exampleFlow(broker);
    await helper.load(MODULES, flow, credentials);
    const registry = (helper.getNode(REGISTRY) as unknown as { registry: DeviceRegistryApi }).registry;
    await registry.ready();
    const events = collect(helper.getNode('m2m.ex.prov.events'));
    const errors = collect(helper.getNode('m2m.ex.prov.errors'));
    const listed = collect(helper.getNode('m2m.ex.prov.devices'));
    const badges: string[] = [];
    helper.getNode('m2m.ex.prov.sim').on('call:status', (call) => badges.push(String((call.args[0] as { text?: string }).text)));
    const count = (event: string): number => events.filter((m) => (m.payload as { event: string }).event === event).length;

    // until both mqtt in subscriptions are up: the wrong secret is answered
    for (let tries = 0; count('refused') === 0; tries++) {
      assert.ok(tries < 20, 'the wrong secret is answered once the subscriptions are up');
      press('bad');
      await waitFor(() => count('refused') > 0, 'the wrong secret refused', 500).catch(() => undefined);
    }
    assert.ok(events.every((m) => (m.payload as { reason: string }).reason === 'wrong-secret'));
    assert.strictEqual(registry.counts().devices, 0);

    press('all');
    await waitFor(() => count('provisioned') === 5, 'five meters provisioned', 10_000);
    await waitFor(() => badges.some((text) => text.endsWith('5 enrolled')), 'the simulator got five credentials (its badge)', 5000);

    const refusedBefore = count('refused');
    press('replay');
    await waitFor(() => count('refused') === refusedBefore + 5, 'the replays refused');
    assert.ok(
      events
        .filter((m) => (m.payload as { event: string }).event === 'refused')
        .slice(-5)
        .every((m) => (m.payload as { reason: string }).reason === 'device-exists'),
    );

    press('list');
    await waitFor(() => listed.length === 1, 'the list');
    const page = listed[0].payload as { devices: Array<{ id: string; type: string; attributes: Record<string, unknown> }> };
    assert.deepStrictEqual(
      page.devices.map((d) => [d.id, d.type, d.attributes.site]).sort(),
      ['meter-001', 'meter-002', 'meter-003', 'meter-004', 'meter-005'].map((id) => [id, 'meter', 'north']),
    );
    assert.deepStrictEqual(errors, []);
  });
});
