import assert from 'assert';
import { MemoryCommandStore, type TransportMessage } from '../../lib/command';
import type { JobProgress } from '../../lib/job';
import commandNode from '../../nodes/m2m-command/m2m-command';
import jobNode from '../../nodes/m2m-job/m2m-job';
import { collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';

const MODULES = [jobNode, commandNode] as NodeModule[];

// job -> m2m-command -> (a device) -> reply -> m2m-command. In the first deployment the command's status events do not
// reach the job, as when Node-RED dies between the reply and the job storing it; the second deployment (same node
// ids, state kept in memory across it) wires them back.
function flow(statusBack: boolean): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'rj', type: 'm2m-job', z: 'f1', progressEvery: 0.1, wires: [['rcmd'], [], ['progress']] },
    { id: 'rcmd', type: 'm2m-command', z: 'f1', timeout: 30, mqtt5: false, wires: [['device'], statusBack ? ['rj'] : []] },
    { id: 'device', type: 'helper', z: 'f1' },
    { id: 'progress', type: 'helper', z: 'f1' },
  ];
}

describe('m2m-job node after a restart: the command in flight is resolved through m2m-command (msg.resume)', () => {
  afterEach(async () => {
    await helper.unload();
    MemoryCommandStore.forget('job:rj');
    MemoryCommandStore.forget('rcmd');
  });

  it('a command that succeeded before the job heard of it ends the execution succeeded, and the device gets it once', async () => {
    await helper.load(MODULES, flow(false));
    let device = collect(helper.getNode('device'));
    helper.getNode('rj').receive({ action: 'start', payload: { jobId: 'fw', target: { devices: ['pump-1'] }, command: 'update', timeout: 30_000 } });
    await waitFor(() => device.length === 1, 'the command at the device');
    const command = device[0] as unknown as TransportMessage;
    helper.getNode('rcmd').receive({ topic: 'devices/pump-1/replies', payload: { id: command.commandId, ok: true } });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the stores are in memory: written at once
    await helper.unload();

    await helper.load(MODULES, flow(true));
    device = collect(helper.getNode('device'));
    const progress = collect(helper.getNode('progress'));
    // the restored job asks at once, before this test could listen: its status says how it ended
    const completed = (): JobProgress | undefined => progress.map((m) => m.payload as JobProgress).find((p) => p.state === 'completed');
    const asking = setInterval(() => helper.getNode('rj').receive({ action: 'status', jobId: 'fw' }), 50);
    try {
      await waitFor(() => completed() !== undefined, 'the job to complete');
    } finally {
      clearInterval(asking);
    }
    const last = completed() as JobProgress;
    assert.deepStrictEqual([last.counts.succeeded, last.counts['timed-out'], last.counts.failed], [1, 0, 0]);
    assert.deepStrictEqual(device, [], 'the device did not get the command again');
  });
});
