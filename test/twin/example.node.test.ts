import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { MemoryStore } from '../../lib/registry/stores/memory';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import twinNode from '../../nodes/m2m-twin/m2m-twin';
import commandNode from '../../nodes/m2m-command/m2m-command';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import { catchNode, collect, coreNode, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';

const EXAMPLE = path.join(__dirname, '../../examples/device-twin.json');
const REGISTRY = 'm2m.ex.twin.registry';
const CORE = ['common/20-inject.js', 'common/90-comment.js', 'function/10-switch.js', 'function/15-change.js'].map(coreNode);
const MODULES = [registryNode, deviceNode, twinNode, commandNode, simulatorNode].map((m) => m as NodeModule).concat([catchNode, ...CORE]);

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
  this.timeout(30_000);
  afterEach(async () => {
    await helper.unload();
    MemoryStore.forget(REGISTRY);
  });

  it('simulated thermostats: a setpoint reconciles at once when online, and one set while offline when the device comes back, synced once each', async () => {
    MemoryStore.forget(REGISTRY);
    await helper.load(MODULES, exampleFlow());
    const registry = (helper.getNode(REGISTRY) as unknown as { registry: DeviceRegistryApi }).registry;
    const synced = collect(helper.getNode('m2m.ex.twin.synced'));
    const errors = collect(helper.getNode('m2m.ex.twin.errors'));
    const docs = collect(helper.getNode('m2m.ex.twin.doc'));
    const commands = collect(helper.getNode('m2m.ex.twin.cmdstatus'));
    await waitFor(() => registry.isOnline('th-001') && registry.isOnline('th-002'), 'both thermostats registered and heard', 10_000);

    press('d1');
    await waitFor(() => synced.length === 1, 'th-001 synced');
    assert.strictEqual((synced[0].payload as { deviceId: string }).deviceId, 'th-001');

    press('off');
    await waitFor(() => !registry.isOnline('th-002'), 'th-002 marked offline');
    press('d2');
    await waitFor(
      () =>
        commands.some(
          (m) => (m.payload as { deviceId: string; status: string }).deviceId === 'th-002' && (m.payload as { status: string }).status === 'queued',
        ),
      'the command queued for th-002',
    );
    press('get');
    await waitFor(() => docs.some((m) => m.operation === 'get'), "th-002's twin");
    const waiting = docs.find((m) => m.operation === 'get')?.payload as { delta: unknown; reported: unknown };
    assert.deepStrictEqual([waiting.delta, waiting.reported], [{ setpoint: 19, mode: 'eco' }, {}], 'the delta waits while th-002 is offline');

    press('on');
    await waitFor(() => synced.length === 2, 'th-002 synced once it came back', 10_000);
    assert.deepStrictEqual(
      synced.map((m) => m.topic),
      ['twin/th-001/synced', 'twin/th-002/synced'],
    );

    const logged = exampleFlow()
      .filter((n) => n.type !== 'tab' && n.type !== 'helper')
      .filter((n) => (helper.getNode(n.id) as unknown as { error: { called: boolean } }).error.called);
    assert.deepStrictEqual(
      logged.map((n) => n.id),
      [],
      'no node logged an error',
    );

    press('bad');
    await waitFor(() => errors.length === 1, 'the refused setpoint');
    assert.strictEqual((errors[0].error as { code: string }).code, 'SCHEMA_VALIDATION');
    // th-002 got the queued command and the twin's reminder: both applied and reported before counting
    const of2 = (status: string): number =>
      commands.filter((m) => (m.payload as { deviceId: string }).deviceId === 'th-002' && (m.payload as { status: string }).status === status).length;
    const reports2 = (): number => docs.filter((m) => m.operation === 'report' && m.deviceId === 'th-002').length;
    await waitFor(() => of2('succeeded') === of2('sent') && reports2() === of2('sent'), 'every command to th-002 answered and its report applied');
    assert.ok(of2('sent') >= 1);
    assert.strictEqual(synced.length, 2, 'synced once per device');
  });
});
