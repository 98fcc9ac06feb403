import assert from 'assert';
import { randomBytes } from 'crypto';
import fs from 'fs';
import path from 'path';
import type { StatusEvent } from '../../lib/command';
import { MemoryStore } from '../../lib/registry/stores/memory';
import type { NodeMessage } from '../../nodes/shared/node-red';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import { collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { startBroker, type TestBroker } from '../helpers/services';
import { MODULES } from '../command/flow';

const core = ['common/20-inject.js', 'common/90-comment.js', 'common/21-debug.js', 'function/10-switch.js', 'function/15-change.js'].map(
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (f) => require(`@node-red/nodes/core/${f}`) as NodeModule,
);

const EXAMPLE = path.join(__dirname, '../../examples/presence.json');

/** The example as shipped, on the test broker under a topic root of its own, simulators faster, debug nodes as helpers. */
function exampleFlow(broker: TestBroker): FlowNode[] {
  const text = fs.readFileSync(EXAMPLE, 'utf8').replace(/devices\//g, `presence-${randomBytes(4).toString('hex')}/`);
  return (JSON.parse(text) as FlowNode[]).map((node) => {
    if (node.type === 'mqtt-broker') return { ...node, broker: '127.0.0.1', port: String(broker.port) };
    if (node.type === 'debug') return { id: node.id, type: 'helper', z: node.z };
    if (node.type === 'm2m-simulator') return { ...node, interval: 0.5 };
    return node;
  });
}

describe('examples/presence.json', function () {
  this.timeout(30_000);
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.close());
  afterEach(async () => {
    await helper.unload();
    MemoryStore.forget('m2m.ex.presence.registry');
  });

  it("a last will takes the sensor offline at once, once; a sleepy meter's command waits for its next reading", async () => {
    await helper.load([...MODULES, deviceNode as NodeModule, ...core], exampleFlow(broker));
    const presence = collect(helper.getNode('m2m.ex.presence.presence'));
    const marks = collect(helper.getNode('m2m.ex.presence.marks'));
    const commands = collect(helper.getNode('m2m.ex.presence.cmdstatus'));
    const errors = collect(helper.getNode('m2m.ex.presence.errors'));
    const topics = (): string[] => presence.map((m) => m.topic as string);
    await waitFor(() => topics().includes('device/sensor-001/online') && topics().includes('device/meter-001/online'), 'both devices online', 10_000);

    // the broker must have the status subscription before the will is published: retry the click until it lands
    const dropped = Date.now();
    for (let i = 0; i < 40 && !topics().includes('device/sensor-001/offline'); i++) {
      helper.getNode('m2m.ex.presence.drop').receive({});
      await waitFor(() => marks.length > i || topics().includes('device/sensor-001/offline'), 'the will read', 250).catch(() => undefined);
    }
    await waitFor(() => topics().includes('device/sensor-001/offline'), 'sensor-001 offline from its will', 10_000);
    assert.ok(Date.now() - dropped < 10_000, 'offline within seconds, not after the 5-minute timeout');
    const marked = (m: NodeMessage): boolean => m.deviceId === 'sensor-001';
    assert.strictEqual(marks.filter(marked).filter((m) => m.changed === true).length, 1, 'one transition');

    const before = marks.length;
    helper.getNode('m2m.ex.presence.emqx').receive({});
    await waitFor(() => marks.length > before, 'the EMQX event read');
    assert.deepStrictEqual([marks[before].changed, marks[before].presenceSource], [false, 'emqx'], 'already offline: nothing more');
    assert.strictEqual(topics().filter((t) => t === 'device/sensor-001/offline').length, 1, 'exactly one offline event');

    helper.getNode('m2m.ex.presence.back').receive({});
    await waitFor(() => topics().filter((t) => t === 'device/sensor-001/online').length === 2, 'sensor-001 back online', 10_000);

    helper.getNode('m2m.ex.presence.read').receive({});
    await waitFor(() => commands.some((m) => (m.payload as StatusEvent).status === 'succeeded'), 'the meter answered', 10_000);
    assert.deepStrictEqual(
      commands.map((m) => (m.payload as StatusEvent).status),
      ['queued', 'sent', 'succeeded'],
    );
    assert.deepStrictEqual(errors, []);
  });
});
