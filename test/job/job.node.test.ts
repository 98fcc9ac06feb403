import assert from 'assert';
import commandNode from '../../nodes/m2m-command/m2m-command';
import jobNode from '../../nodes/m2m-job/m2m-job';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { ExecutionEvent, JobProgress } from '../../lib/job';

const MODULES = [jobNode, commandNode, simulatorNode, catchNode] as NodeModule[];

// job -> m2m-command -> simulated devices -> m2m-command -> (status events) -> job, in one Node-RED.
let flows = 0;
function flow(simulator: Record<string, unknown> = {}): FlowNode[] {
  // a job node keeps its jobs (in memory without a registry) across redeploys of the same node id
  const job = `job${++flows}`;
  return [
    { id: 'f1', type: 'tab' },
    { id: job, type: 'm2m-job', z: 'f1', progressEvery: 0.1, wires: [['cmd'], ['executions'], ['progress']] },
    { id: 'cmd', type: 'm2m-command', z: 'f1', timeout: 5, wires: [['sim'], [job]] },
    { id: 'sim', type: 'm2m-simulator', z: 'f1', devices: 40, idPrefix: 'pump-', interval: 0, latency: 5, seed: '3', ...simulator, wires: [['cmd']] },
    { id: 'executions', type: 'helper', z: 'f1' },
    { id: 'progress', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `pump-${String(i + 1).padStart(3, '0')}`);

describe('m2m-job node', () => {
  afterEach(() => helper.unload());

  it('rolls a command out through m2m-command and ends with every device in one final state', async () => {
    await helper.load(MODULES, flow({ failureRatio: 0.25 }));
    const executions = collect(helper.getNode('executions'));
    const progress = collect(helper.getNode('progress'));
    const caught = collect(helper.getNode('caught'));
    helper.getNode(`job${flows}`).receive({
      action: 'start',
      payload: { jobId: 'fw-1', target: { devices: ids(40) }, command: 'update', params: { version: '3.2' }, rollout: { perMinute: 6000, maxInFlight: 8 } },
    });
    const ended = (): JobProgress | undefined => progress.map((m) => m.payload as JobProgress).find((p) => p.jobId === 'fw-1' && p.state === 'completed');
    await waitFor(() => ended() !== undefined, 'the job to complete', 15_000);
    const p = ended() as JobProgress;
    const finals = new Map<string, string>();
    for (const m of executions) {
      const e = m.payload as ExecutionEvent;
      if (e.state !== 'in-progress') {
        assert.ok(!finals.has(e.deviceId), `${e.deviceId} ended once`);
        finals.set(e.deviceId, e.state);
      }
    }
    assert.strictEqual(finals.size, 40);
    assert.strictEqual(p.counts.succeeded + p.counts.failed, 40);
    assert.strictEqual(p.counts.succeeded, [...finals.values()].filter((s) => s === 'succeeded').length);
    assert.ok(p.counts.failed > 0, 'a quarter of the commands fail');
    assert.deepStrictEqual(caught, []);
  });

  it('answers status on output 3, and a bad control or document goes to a Catch node with its code, starting nothing', async () => {
    await helper.load(MODULES, flow());
    const progress = collect(helper.getNode('progress'));
    const caught = collect(helper.getNode('caught'));
    const job = helper.getNode(`job${flows}`);
    job.receive({ action: 'start', payload: { target: { devices: [] }, command: 'update' } });
    job.receive({ action: 'start', payload: { target: { devices: ['pump-001'] }, command: 'update', rollout: { perMinute: 0 } } });
    job.receive({ action: 'pause', jobId: 'nope' });
    job.receive({ payload: 'hello' });
    await waitFor(() => caught.length === 4, 'four errors');
    const codes = caught.map((m) => (m.error as { code?: string }).code);
    assert.deepStrictEqual(codes, ['EMPTY_TARGET', 'INVALID_JOB', 'JOB_NOT_FOUND', 'INVALID_CONTROL']);
    assert.strictEqual((caught[1].m2mError as { field?: string }).field, 'rollout.perMinute');
    job.receive({ action: 'status', _answer: true } as NodeMessage);
    await waitFor(() => progress.some((m) => m._answer === true), 'the status answer');
    assert.deepStrictEqual(progress.find((m) => m._answer === true)?.payload, [], 'no job was started');
  });

  it('clears its timers on close: a job paced slowly leaves nothing running after unload', async () => {
    await helper.load(MODULES, flow({ latency: 10_000 }));
    helper.getNode(`job${flows}`).receive({
      action: 'start',
      payload: { jobId: 'slow', target: { devices: ids(40) }, command: 'update', rollout: { perMinute: 1 }, retries: 3, timeout: 60_000 },
    });
    const progress = collect(helper.getNode('progress'));
    await waitFor(() => progress.length > 0, 'the job to start');
    const before = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await helper.unload();
    const after = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    assert.ok(after < before, `timers before ${before}, after ${after}`);
    await helper.load(MODULES, flow());
  });
});
