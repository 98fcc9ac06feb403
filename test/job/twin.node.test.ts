import assert from 'assert';
import jobNode from '../../nodes/m2m-job/m2m-job';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import twinNode from '../../nodes/m2m-twin/m2m-twin';
import type { ExecutionEvent, JobProgress } from '../../lib/job';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';

const MODULES = [jobNode, registryNode, twinNode, catchNode] as NodeModule[];

// A desired-state job: job -> m2m-twin (desire) -> both twin outputs back into the job. A device is done once a
// report leaves its delta empty.
describe('m2m-job node with m2m-twin', () => {
  afterEach(() => helper.unload());

  it('sets desired state on every thermostat of a query and ends each one when its twin is in sync', async () => {
    const registryId = `job-twin-${Math.random().toString(36).slice(2)}`;
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: registryId, type: 'm2m-registry', name: 'plant', storeType: 'memory', offlineTimeout: 60, deviceTypes: '[{"name":"thermostat"}]' },
      { id: 'job', type: 'm2m-job', z: 'f1', registry: registryId, progressEvery: 0.1, wires: [['twin'], ['executions'], ['progress']] },
      { id: 'twin', type: 'm2m-twin', z: 'f1', registry: registryId, operation: '', wires: [['job'], ['job']] },
      { id: 'executions', type: 'helper', z: 'f1' },
      { id: 'progress', type: 'helper', z: 'f1' },
      { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ];
    await helper.load(MODULES, flow);
    const registry = (helper.getNode(registryId) as unknown as { registry: DeviceRegistryApi }).registry;
    await registry.whenLoaded();
    for (const id of ['th-1', 'th-2', 'th-3']) await registry.register({ id, type: 'thermostat', tags: ['hall-3'] });
    await registry.register({ id: 'th-9', type: 'thermostat', tags: ['hall-9'] });
    const executions = collect(helper.getNode('executions'));
    const progress = collect(helper.getNode('progress'));
    const caught = collect(helper.getNode('caught'));

    helper.getNode('job').receive({
      action: 'start',
      payload: { jobId: 'setpoint', target: { type: 'thermostat', tags: ['hall-3'] }, desired: { setpoint: 21 }, rollout: { perMinute: 6000 } },
    });
    const started = (): string[] =>
      executions
        .map((m) => m.payload as ExecutionEvent)
        .filter((e) => e.state === 'in-progress')
        .map((e) => e.deviceId);
    await waitFor(() => started().length === 3, 'three devices to start');
    // th-1 and th-2 apply it; th-3 stays behind
    const twin = helper.getNode('twin');
    twin.receive({ operation: 'report', deviceId: 'th-1', payload: { setpoint: 21 } });
    twin.receive({ operation: 'report', deviceId: 'th-2', payload: { setpoint: 21, mode: 'heat' } });
    const state = (id: string): string | undefined =>
      executions
        .map((m) => m.payload as ExecutionEvent)
        .filter((e) => e.deviceId === id)
        .pop()?.state;
    await waitFor(() => state('th-1') === 'succeeded' && state('th-2') === 'succeeded', 'two devices in sync');
    assert.strictEqual(state('th-3'), 'in-progress');
    twin.receive({ operation: 'report', deviceId: 'th-3', payload: { setpoint: 21 } });
    await waitFor(() => progress.some((m) => (m.payload as JobProgress).state === 'completed'), 'the job to complete');
    assert.deepStrictEqual(started().sort(), ['th-1', 'th-2', 'th-3'], 'the query took hall 3 only');
    assert.deepStrictEqual(caught, []);
  });
});
