import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { MemoryStore } from '../../lib/registry/stores/memory';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import type { NodeMessage } from '../../nodes/shared/node-red';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import twinNode from '../../nodes/m2m-twin/m2m-twin';
import { catchNode, collect, coreNode, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';

const EXAMPLE = path.join(__dirname, '../../examples/device-twin.json');
const REGISTRY = 'm2m.ex.twin.registry';
const CORE = ['common/20-inject.js', 'common/90-comment.js', 'function/10-switch.js', 'function/15-change.js', 'function/89-delay.js'].map(coreNode);
const MODULES = [registryNode as NodeModule, deviceNode as NodeModule, twinNode as NodeModule, catchNode, ...CORE];

/** The example as shipped, with the registry in memory instead of a file under the working directory, debug nodes as helpers. */
function exampleFlow(): FlowNode[] {
  return (JSON.parse(fs.readFileSync(EXAMPLE, 'utf8')) as FlowNode[]).map((node) => {
    if (node.type === 'm2m-registry') return { ...node, storeType: 'memory' };
    if (node.type === 'debug') return { id: node.id, type: 'helper', z: node.z };
    return node;
  });
}

function press(id: string): void {
  helper.getNode(`m2m.ex.twin.${id}`).receive({});
}

describe('examples/device-twin.json', function () {
  this.timeout(20_000);
  afterEach(async () => {
    await helper.unload();
    MemoryStore.forget(REGISTRY);
  });

  it('deploys, reconciles a setpoint at once for an online thermostat and for an offline one when it comes back, synced once each', async () => {
    MemoryStore.forget(REGISTRY);
    await helper.load(MODULES, exampleFlow());
    const registry = (helper.getNode(REGISTRY) as unknown as { registry: DeviceRegistryApi }).registry;
    const synced = collect(helper.getNode('m2m.ex.twin.synced'));
    const errors = collect(helper.getNode('m2m.ex.twin.errors'));
    const docs = collect(helper.getNode('m2m.ex.twin.doc'));
    const onlineChecks: NodeMessage[] = [];
    helper.getNode('m2m.ex.twin.get.device').on('call:send', (call) => onlineChecks.push((call.args[0] as NodeMessage[])[0]));
    await waitFor(() => registry.has('th-1') && registry.has('th-2'), 'both thermostats registered on deploy');

    press('hb1');
    await waitFor(() => registry.isOnline('th-1'), 'th-1 online');
    press('d1');
    await waitFor(() => synced.length === 1, 'th-1 synced');
    assert.strictEqual((synced[0].payload as { deviceId: string }).deviceId, 'th-1');

    press('d2'); // th-2 has never been heard: offline
    await waitFor(() => onlineChecks.some((m) => m.deviceId === 'th-2'), 'the loop asks whether th-2 is online');
    assert.strictEqual((onlineChecks.find((m) => m.deviceId === 'th-2')?.device as { online: boolean }).online, false);
    press('get');
    await waitFor(() => docs.some((m) => m.operation === 'get'), "th-2's twin");
    const waiting = docs.find((m) => m.operation === 'get')?.payload as { delta: unknown; reported: unknown };
    assert.deepStrictEqual([waiting.delta, waiting.reported], [{ setpoint: 19, mode: 'eco' }, {}], 'the delta waits while th-2 is offline');

    press('hb2');
    await waitFor(() => synced.length === 2, 'th-2 synced once it came back');
    assert.deepStrictEqual(synced.map((m) => [m.topic, (m.payload as { reportedVersion: number }).reportedVersion]), [['twin/th-1/synced', 1], ['twin/th-2/synced', 1]]);

    const logged = exampleFlow()
      .filter((n) => n.type !== 'tab' && n.type !== 'helper')
      .filter((n) => (helper.getNode(n.id) as unknown as { error: { called: boolean } }).error.called);
    assert.deepStrictEqual(logged.map((n) => n.id), [], 'no node logged an error');

    press('bad');
    await waitFor(() => errors.length === 1, 'the refused setpoint');
    assert.strictEqual((errors[0].error as { code: string }).code, 'SCHEMA_VALIDATION');
    assert.strictEqual(synced.length, 2, 'synced once per device');
  });
});
