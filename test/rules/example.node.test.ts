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

  it('every button shows its alarm event at once: raise, escalate after 60 s, clear with hysteresis, door latch, ack, shelve and unshelve, stale sensor', async () => {
    const flow = EXAMPLE.map((n) => (n.type === 'debug' ? { id: n.id, type: 'helper', z: n.z } : n));
    await helper.load([ruleNode as NodeModule, injectNode, catchNode, commentNode], flow);
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const alarms: NodeMessage[] = [];
    helper.getNode('dbg-alarms').on('input', (msg) => alarms.push(msg));
    const seen = (from: number): string[] =>
      alarms.slice(from).map((m) => `${(m.payload as AlarmEvent).event}:${(m.payload as AlarmEvent).rule}:${(m.payload as AlarmEvent).severity}`);
    const click = async (id: string, ms = 0): Promise<void> => {
      helper.getNode(id).receive({});
      await settle();
      clock!.tick(ms);
      await settle();
    };
    await click('inj-normal');
    assert.deepStrictEqual(seen(0), []);
    await click('inj-warm', 30_000);
    assert.deepStrictEqual(seen(0), ['raised:too-warm:major'], 'at once');
    assert.strictEqual((alarms[0].payload as AlarmEvent).text, 'coldroom-1 too-warm raised: temp -12 above -15');
    await click('inj-warm', 30_000); // the room keeps reporting, so the stale-sensor rule stays quiet
    assert.deepStrictEqual(seen(1), ['escalated:too-warm:critical'], '60 s after the raise');
    await click('inj-hover');
    assert.deepStrictEqual(seen(2), [], 'between the levels nothing clears');
    await click('inj-cold');
    assert.deepStrictEqual(seen(2), ['cleared:too-warm:critical']);
    assert.strictEqual((alarms[2].payload as AlarmEvent).text, 'coldroom-1 too-warm cleared: temp -20 below -17');
    await click('inj-door');
    await click('inj-door');
    await click('inj-door');
    await click('inj-normal');
    assert.deepStrictEqual(seen(3), ['raised:door-open:warning'], 'the third open door in a row; latched: a closed door does not clear it');
    await click('inj-ack');
    assert.deepStrictEqual(seen(4), ['acknowledged:door-open:warning', 'cleared:door-open:warning']);
    await click('inj-shelve');
    assert.deepStrictEqual(seen(6), ['shelved:too-warm:major', 'shelved:door-open:warning', 'shelved:sensor-stale:minor']);
    await click('inj-warm');
    assert.strictEqual(alarms.length, 9, 'shelved: no events');
    await click('inj-unshelve');
    assert.deepStrictEqual(
      seen(9),
      ['unshelved:too-warm:major', 'raised:too-warm:major', 'unshelved:door-open:warning', 'unshelved:sensor-stale:minor'],
      'the way back, announcing what came up meanwhile',
    );
    clock.tick(60_000);
    await settle();
    assert.deepStrictEqual(seen(13), ['escalated:too-warm:critical', 'raised:sensor-stale:minor'], 'a minute without a temperature');
  });

  it('Rules 2.0: the level rule moves one alarm up and down, the expression raises, and reminders come every 20 s until acknowledged', async () => {
    const flow = EXAMPLE.map((n) => (n.type === 'debug' ? { id: n.id, type: 'helper', z: n.z } : n));
    await helper.load([ruleNode as NodeModule, injectNode, catchNode, commentNode], flow);
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const alarms: AlarmEvent[] = [];
    helper.getNode('dbg-alarms2').on('input', (msg) => alarms.push(msg.payload as AlarmEvent));
    const take = (): string[] => alarms.splice(0).map((e) => `${e.event}:${e.rule}:${e.severity}`);
    const click = async (id: string, ms = 0): Promise<void> => {
      helper.getNode(id).receive({});
      await settle();
      clock!.tick(ms);
      await settle();
    };
    for (const id of ['inj2-l1', 'inj2-l2', 'inj2-l3', 'inj2-l4', 'inj2-l5', 'inj2-l6']) await click(id);
    assert.deepStrictEqual(take(), [
      'raised:room-level:warning',
      'escalated:room-level:major',
      'escalated:room-level:critical',
      'deescalated:room-level:major',
      'cleared:room-level:major',
    ]);
    await click('inj2-ok');
    await click('inj2-ice', 20_000);
    assert.deepStrictEqual(take(), ['raised:coil-icing:major', 'reminder:coil-icing:major'], 'a reminder 20 s after the raise');
    await click('inj2-ack', 60_000);
    assert.deepStrictEqual(take(), ['acknowledged:coil-icing:major'], 'no more reminders once acknowledged');
    await click('inj2-ok');
    assert.deepStrictEqual(take(), ['cleared:coil-icing:major']);
  });
});
