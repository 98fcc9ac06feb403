import assert from 'assert';
import fs from 'fs';
import path from 'path';
import sinon from 'sinon';
import { catchNode, helper, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { NodeMessage } from '../../nodes/shared/node-red';
import type { AlarmEvent } from '../../lib/rules';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const injectNode = require('@node-red/nodes/core/common/20-inject.js') as NodeModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const commentNode = require('@node-red/nodes/core/common/90-comment.js') as NodeModule;

// The example flow as shipped, with its debug nodes swapped for test helpers.
const EXAMPLE = JSON.parse(fs.readFileSync(path.join(__dirname, '../../examples/threshold-alarms.json'), 'utf8')) as FlowNode[];
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

describe('examples/threshold-alarms.json', () => {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    clock?.restore();
    await helper.unload();
  });

  it('too warm for five minutes raises once, escalates after 30, clears below -17 after a minute; door latch; stale sensor; ack', async () => {
    const flow = EXAMPLE.map((n) => (n.type === 'debug' ? { id: n.id, type: 'helper', z: n.z } : n));
    await helper.load([ruleNode as NodeModule, injectNode, catchNode, commentNode], flow);
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const alarms: NodeMessage[] = [];
    helper.getNode('dbg-alarms').on('input', (msg) => alarms.push(msg));
    const seen = (): string[] => alarms.map((m) => `${(m.payload as AlarmEvent).event}:${(m.payload as AlarmEvent).rule}:${(m.payload as AlarmEvent).severity}`);
    const click = async (id: string, ms = 0): Promise<void> => {
      helper.getNode(id).receive({});
      await settle();
      clock!.tick(ms);
      await settle();
    };
    await click('inj-normal', 60_000);
    await click('inj-warm', 299_000);
    assert.deepStrictEqual(seen(), []);
    clock.tick(1000);
    await settle();
    assert.deepStrictEqual(seen(), ['raised:too-warm:major'], '5 minutes after the too-warm sample, from the timer');
    // the room keeps reporting (so the stale-sensor rule stays quiet) and stays too warm
    for (let i = 0; i < 3; i++) await click('inj-warm', 599_000);
    assert.strictEqual(alarms.length, 1);
    await click('inj-warm', 3000);
    assert.deepStrictEqual(seen(), ['raised:too-warm:major', 'escalated:too-warm:critical'], '30 minutes after the raise');
    await click('inj-hover', 60_000);
    await click('inj-cold', 59_000);
    assert.strictEqual(alarms.length, 2, 'between the levels nothing clears, and not before a minute below -17');
    clock.tick(1000);
    await settle();
    assert.deepStrictEqual(seen().slice(2), ['cleared:too-warm:critical']);
    await click('inj-door');
    await click('inj-door');
    await click('inj-door');
    await click('inj-normal');
    assert.deepStrictEqual(seen().slice(3), ['raised:door-open:warning'], 'latched: a closed door does not clear it');
    await click('inj-ack');
    assert.deepStrictEqual(seen().slice(4), ['acknowledged:door-open:warning', 'cleared:door-open:warning']);
    clock.tick(600_000);
    await settle();
    assert.deepStrictEqual(seen().slice(6), ['raised:sensor-stale:minor']);
  });
});
