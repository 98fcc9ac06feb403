// Alarm state of an m2m-rule without a registry across a full deploy, an edit of the node, and a restart with a
// file context store, on Node-RED's own deploy path (the runtime deletes a node's context when it closes unless
// a context store is configured).
import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import sinon from 'sinon';
import { collect, helper, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { NodeMessage } from '../../nodes/shared/node-red';
import type { AlarmEvent, AlarmState, RuleDefinition } from '../../lib/rules';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';

// The parts of the test helper that test/helpers/node-red.ts does not wrap: a deploy, and the runtime's context.
interface RawHelper {
  setFlows(flow: FlowNode[], type: 'full' | 'nodes'): Promise<void>;
  _context: { load(): Promise<void>; close(): Promise<void> };
  _redNodes: { stopFlows(): Promise<void>; clearRegistry(): void };
  _logSpy: { restore(): void };
  _sandbox: { restore(): void };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const raw = require('node-red-node-test-helper') as RawHelper;

const TOO_WARM: RuleDefinition = { name: 'too-warm', metric: 'temp', severity: 'major', raise: { op: '>', value: 30 }, clear: { op: '<', value: 28 } };
const SLOW: RuleDefinition = { name: 'humid', metric: 'hum', severity: 'minor', raise: { op: '>', value: 80 }, raiseDelay: 300 };

function flow(name = ''): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'rule', type: 'm2m-rule', z: 'f1', name, rules: [TOO_WARM, SLOW], outputs: 1, wires: [['alarms']] },
    { id: 'alarms', type: 'helper', z: 'f1' },
  ];
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
const names = (msgs: NodeMessage[]): string[] => msgs.map((m) => `${(m.payload as AlarmEvent).event}:${m.deviceId}:${(m.payload as AlarmEvent).rule}`);

describe('m2m-rule without a registry keeps its alarm state', () => {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await helper.unload();
  });

  /** An active alarm on fr-1 and a humidity delay that started 100 s before `redeploy`. */
  async function alarmThen(redeploy: () => Promise<void>): Promise<NodeMessage[]> {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const before = collect(helper.getNode('alarms'));
    helper.getNode('rule').receive({ deviceId: 'fr-1', payload: { temp: 35, hum: 90 } });
    await settle();
    assert.deepStrictEqual(names(before), ['raised:fr-1:too-warm']);
    clock.tick(100_000);
    await redeploy();
    const after = collect(helper.getNode('alarms'));
    helper.getNode('rule').receive({ deviceId: 'fr-1', payload: { temp: 36, hum: 91 } });
    await settle();
    assert.deepStrictEqual(names(after), [], 'no second raise');
    clock.tick(199_000);
    await settle();
    assert.deepStrictEqual(names(after), []);
    clock.tick(1000);
    await settle();
    assert.deepStrictEqual(names(after), ['raised:fr-1:humid'], 'the delay fires 300 s after it started');
    return after;
  }

  it('across a full deploy on default settings', async () => {
    await helper.load(ruleNode as NodeModule, flow());
    await alarmThen(() => raw.setFlows(flow(), 'full'));
  });

  it('across an edit of the node (a "modified nodes" deploy)', async () => {
    await helper.load(ruleNode as NodeModule, flow());
    await alarmThen(() => raw.setFlows(flow('edited'), 'nodes'));
    assert.strictEqual(helper.getNode('rule').name, 'edited', 'the node was restarted with its new settings');
  });

  it('not once the node is deleted: a node added again with the same id starts afresh', async () => {
    await helper.load(ruleNode as NodeModule, flow());
    helper.getNode('rule').receive({ deviceId: 'fr-1', payload: { temp: 35 } });
    await settle();
    await raw.setFlows(
      flow().filter((n) => n.id !== 'rule'),
      'full',
    );
    await raw.setFlows(flow(), 'full');
    const alarms = collect(helper.getNode('alarms'));
    helper.getNode('rule').receive({ deviceId: 'fr-1', payload: { temp: 35 } });
    await settle();
    assert.deepStrictEqual(names(alarms), ['raised:fr-1:too-warm']);
  });

  describe('across a restart with a file context store', () => {
    let userDir: string;
    beforeEach(() => {
      userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-rule-ctx-'));
      helper.settings({ userDir, contextStorage: { default: { module: 'localfilesystem' } } });
    });
    afterEach(() => {
      helper.settings({ contextStorage: undefined });
      fs.rmSync(userDir, { recursive: true, force: true });
    });

    /** A runtime start as Node-RED does it: node types registered, context stores opened, then the flows. */
    async function start(): Promise<void> {
      await helper.load(ruleNode as NodeModule, []);
      await raw._context.load();
      await raw.setFlows(flow(), 'full');
    }

    /** A runtime stop: the flows, then the context stores (which flushes them to disk). No context clean-up, as in helper.unload. */
    async function stop(): Promise<void> {
      await raw._redNodes.stopFlows();
      await raw._context.close();
      raw._redNodes.clearRegistry();
      raw._logSpy.restore();
      raw._sandbox.restore();
    }

    it('brings active alarms and delays back, device a.b.c included', async () => {
      await start();
      helper.getNode('rule').receive({ deviceId: 'a.b.c', payload: { temp: 40 } });
      await settle();
      const after = await alarmThen(async () => {
        await stop();
        assert.ok(fs.readdirSync(path.join(userDir, 'context')).length > 0, 'the context is on disk');
        await start();
      });
      helper.getNode('rule').receive({ deviceId: 'a.b.c', payload: { temp: 41 } });
      await settle();
      assert.deepStrictEqual(names(after), ['raised:fr-1:humid'], 'a.b.c is not raised again');
      helper.getNode('rule').receive({ topic: 'list' });
      await settle();
      const list = after[1].payload as AlarmState[];
      assert.deepStrictEqual(list.map((a) => `${a.deviceId}:${a.rule}`).sort(), ['a.b.c:too-warm', 'fr-1:humid', 'fr-1:too-warm']);
      helper.getNode('rule').receive({ deviceId: 'a.b.c', payload: { temp: 20 } });
      await settle();
      assert.deepStrictEqual(names(after.slice(2)), ['cleared:a.b.c:too-warm']);
    });
  });
});
