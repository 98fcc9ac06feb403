import assert from 'assert';
import fs from 'fs';
import path from 'path';
import commandNode from '../../nodes/m2m-command/m2m-command';
import jobNode from '../../nodes/m2m-job/m2m-job';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import type { JobProgress } from '../../lib/job';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { catchNode, collect, coreNode, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';

const MODULES = [
  jobNode,
  commandNode,
  simulatorNode,
  catchNode,
  ...['common/20-inject.js', 'common/90-comment.js', 'function/10-function.js'].map(coreNode),
] as NodeModule[];
const EXAMPLE = path.join(__dirname, '../../examples/firmware-rollout.json');

/** The example as shipped, its debug nodes as helpers. */
function exampleFlow(): FlowNode[] {
  return (JSON.parse(fs.readFileSync(EXAMPLE, 'utf8')) as FlowNode[]).map((node) =>
    node.type === 'debug' ? { id: node.id, type: 'helper', z: node.z } : node,
  );
}

describe('examples/firmware-rollout.json', function () {
  this.timeout(60_000);
  afterEach(() => helper.unload());

  it('the valve job trips its abort; the firmware rollout of 200 pumps ramps up to 20 a second and completes', async () => {
    await helper.load(MODULES, exampleFlow());
    const progress = collect(helper.getNode('m2m.ex.job.progress'));
    const errors = collect(helper.getNode('m2m.ex.job.errors'));
    const last = (prefix: string): JobProgress | undefined =>
      progress
        .map((m: NodeMessage) => m.payload as JobProgress)
        .filter((p) => p.jobId?.startsWith(prefix))
        .pop();

    helper.getNode('m2m.ex.job.valves').receive({});
    await waitFor(() => last('valve-config')?.state === 'aborted', 'the valve job to be aborted', 20_000);
    assert.match(last('valve-config')?.reason ?? '', /over the 10% limit/);

    helper.getNode('m2m.ex.job.fw').receive({});
    await waitFor(() => (last('fw-3.2')?.ratePerMinute ?? 0) === 1200, 'the ramp to reach 20 a second', 30_000);
    await waitFor(() => last('fw-3.2')?.state === 'completed', 'the rollout to complete', 30_000);
    const fw = last('fw-3.2') as JobProgress;
    assert.strictEqual(fw.counts.succeeded + fw.counts.failed, 200);
    assert.ok(fw.counts.failed < 30, `about 5% fail (${fw.counts.failed})`);
    assert.deepStrictEqual(errors, []);
  });
});
