import assert from 'assert';
import fs from 'fs';
import path from 'path';
import type { StatusEvent } from '../../lib/command';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { helper, type FlowNode, type NodeModule } from '../helpers/node-red';
import { startBroker, type TestBroker } from '../helpers/services';
import { EventLog, MODULES, uniquePrefix } from './flow';

const core = ['common/20-inject.js', 'common/90-comment.js', 'sequence/17-split.js', 'function/15-change.js'].map(
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (f) => require(`@node-red/nodes/core/${f}`) as NodeModule,
);

const EXAMPLE = path.join(__dirname, '../../examples/command-dispatch.json');

/** The example as shipped, pointed at the test broker, under a topic prefix of its own, debug nodes as helpers. */
function exampleFlow(broker: TestBroker): FlowNode[] {
  const text = fs.readFileSync(EXAMPLE, 'utf8').replace(/devices\//g, `${uniquePrefix('example')}/`);
  return (JSON.parse(text) as FlowNode[]).map((node) => {
    if (node.type === 'mqtt-broker') return { ...node, port: String(broker.port) };
    if (node.type === 'debug') return { id: node.id, type: 'helper', z: node.z };
    return node;
  });
}

describe('examples/command-dispatch.json', function () {
  this.timeout(30_000);
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.close());
  afterEach(() => helper.unload());

  it('the buttons send commands to the simulated devices and every status event reaches the debug node', async () => {
    await helper.load([...MODULES, ...core], exampleFlow(broker));
    const log = new EventLog(helper.getNode('m2m.ex.cmd.events'));
    const errors: NodeMessage[] = [];
    helper.getNode('m2m.ex.cmd.errors').on('input', (msg) => errors.push(msg));

    // "ping all five" until the mqtt in subscriptions are up and one round ends without a timeout
    const ended = (e: StatusEvent): boolean => e.status === 'succeeded' || e.status === 'failed';
    for (let round = 0; round < 20; round++) {
      const before = log.all.length;
      helper.getNode('m2m.ex.cmd.all').receive({});
      await log.until(() => log.all.slice(before).filter((e) => e.status !== 'sent').length === 5, 'a round of five', 10_000);
      if (log.all.slice(before).filter(ended).length === 5) break;
    }
    const last = log.all.slice(-10);
    assert.strictEqual(last.filter(ended).length, 5, 'every device answered');
    assert.deepStrictEqual([...new Set(last.map((e) => e.deviceId))].sort(), ['sim-001', 'sim-002', 'sim-003', 'sim-004', 'sim-005']);

    helper.getNode('m2m.ex.cmd.bad').receive({});
    await new Promise<void>((resolve) => {
      const poll = (): void => (errors.length > 0 ? resolve() : void setTimeout(poll, 10));
      poll();
    });
    assert.strictEqual((errors[0].error as { code?: string }).code, 'INVALID_DEVICE_ID');
  });
});
