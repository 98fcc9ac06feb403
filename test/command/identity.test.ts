import assert from 'assert';
import sinon from 'sinon';
import { FAKE, harness, type Harness } from './harness';

// Issue 9, defect 4: a reply counts only when it comes from the device the command went to, and command ids
// cannot be guessed from the ones a device has seen.

const ok = (id: string): string => JSON.stringify({ id, status: 'ok', result: 'done' });

function finalStatuses(h: Harness): string[] {
  return h.events.filter((e) => e.status !== 'sent').map((e) => `${e.deviceId}:${e.status}`);
}

describe('command replies: only the commanded device can answer', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers(FAKE);
  });
  afterEach(() => clock.restore());

  it('ids are 128 random bits: none is predictable from the ones before it', () => {
    const h = harness();
    const ids = Array.from({ length: 200 }, () => h.tracker.submit({ deviceId: 'd1', command: 'x' }).id);
    for (const id of ids) {
      assert.match(id, /^[A-Za-z0-9_-]{22}$/, 'base64url: a valid command id, topic level and correlation data');
      assert.strictEqual(Buffer.from(id, 'base64url').length, 16);
    }
    assert.strictEqual(new Set(ids).size, ids.length);
    // a device that saw one id could guess its neighbours when ids shared a prefix and counted up
    const commonPrefix = (a: string, b: string): number => [...a].findIndex((c, i) => c !== b[i]);
    const longest = Math.max(...ids.slice(1).map((id, i) => commonPrefix(ids[i], id)));
    assert.ok(longest < 6, `consecutive ids share ${longest} leading characters`);
  });

  describe('MQTT 3.1.1: the device level of the reply topic', () => {
    it('a reply with the right id from another device changes nothing and is counted foreign; the right device then succeeds it', () => {
      const h = harness();
      const { id } = h.tracker.submit({ deviceId: 'valve-1', command: 'open' });
      assert.strictEqual(h.tracker.reply({ topic: 'devices/valve-2/replies', payload: ok(id) }), 'foreign');
      assert.deepStrictEqual(finalStatuses(h), [], 'still pending');
      assert.strictEqual(h.tracker.counts().foreign, 1);
      assert.strictEqual(h.tracker.reply({ topic: 'devices/valve-1/replies', payload: ok(id) }), 'matched');
      assert.deepStrictEqual(finalStatuses(h), ['valve-1:succeeded']);
      assert.strictEqual(h.tracker.reply({ topic: 'devices/valve-2/replies', payload: ok(id) }), 'foreign', 'after the end, too');
      assert.deepStrictEqual([h.tracker.counts().foreign, h.tracker.counts().late], [2, 0]);
    });

    it('a failure reported by another device does not fail the command either', () => {
      const h = harness();
      const { id } = h.tracker.submit({ deviceId: 'valve-1', command: 'open', timeout: 1000 });
      h.tracker.reply({ topic: 'devices/valve-9/replies', payload: JSON.stringify({ id, status: 'error', error: 'stuck' }) });
      clock.tick(1000);
      assert.deepStrictEqual(finalStatuses(h), ['valve-1:timeout']);
    });

    it('msg.deviceId set by the flow names the device when the topic does not; it must agree with the topic when both do', () => {
      const h = harness();
      const a = h.tracker.submit({ deviceId: 'valve-1', command: 'open' }).id;
      const b = h.tracker.submit({ deviceId: 'valve-2', command: 'open' }).id;
      assert.strictEqual(h.tracker.reply({ payload: ok(a), deviceId: 'valve-2' }), 'foreign');
      assert.strictEqual(h.tracker.reply({ topic: 'devices/valve-2/replies', payload: ok(b), deviceId: 'valve-1' }), 'foreign');
      assert.strictEqual(h.tracker.reply({ payload: ok(a), deviceId: 'valve-1' }), 'matched');
      assert.deepStrictEqual(finalStatuses(h), ['valve-1:succeeded']);
    });

    it('a reply that names no device is refused and counted, with one warning that says how to fix the flow', () => {
      const h = harness({ replyTopic: 'site/replies', mqtt5: false });
      const { id } = h.tracker.submit({ deviceId: 'valve-1', command: 'open', timeout: 1000 });
      assert.strictEqual(h.tracker.reply({ topic: 'site/replies', payload: ok(id) }), 'anonymous');
      assert.strictEqual(h.tracker.reply({ payload: ok(id) }), 'anonymous');
      clock.tick(1000);
      assert.deepStrictEqual(finalStatuses(h), ['valve-1:timeout']);
      assert.strictEqual(h.tracker.counts().anonymous, 2);
      assert.strictEqual(h.warnings.length, 1);
      assert.match(h.warnings[0], /refused a reply on site\/replies: nothing says which device sent it.*\{deviceId\}.*MQTT 5.*msg\.deviceId/);
    });

    it('a caller-chosen (guessable) id is no way in for another device', () => {
      const h = harness();
      h.tracker.submit({ deviceId: 'valve-1', command: 'open', commandId: 'job-1' });
      assert.strictEqual(h.tracker.reply({ topic: 'devices/valve-2/replies', payload: ok('job-1') }), 'foreign');
      assert.strictEqual(h.tracker.reply({ topic: 'devices/valve-2/replies', payload: '{}', correlationData: Buffer.from('job-1') }), 'foreign');
      assert.deepStrictEqual(finalStatuses(h), []);
    });
  });

  describe('MQTT 5: the correlation data carries a token only the commanded device was sent', () => {
    it('on a reply topic without a device level, only the echo of the correlation data sent to the device succeeds the command', () => {
      const h = harness({ replyTopic: 'site/replies' });
      const target = h.tracker.submit({ deviceId: 'valve-1', command: 'open' }).id;
      h.tracker.submit({ deviceId: 'valve-2', command: 'open' });
      assert.strictEqual(h.sent[0].responseTopic, 'site/replies');
      const ownToken = h.sent[1].correlationData?.toString().split('~')[1];
      const attempts = [`${target}~${ownToken}`, `${target}~AAAAAAAAAAAAAAAAAAAAAA`, `${target}~`];
      for (const data of attempts)
        assert.strictEqual(h.tracker.reply({ topic: 'site/replies', payload: '{}', correlationData: Buffer.from(data) }), 'foreign', data);
      assert.strictEqual(
        h.tracker.reply({ topic: 'site/replies', payload: '{}', correlationData: Buffer.from(target) }),
        'anonymous',
        'a bare id proves nothing',
      );
      assert.deepStrictEqual(finalStatuses(h), []);
      assert.strictEqual(h.tracker.reply({ topic: 'site/replies', payload: '{"percent":40}', correlationData: h.sent[0].correlationData }), 'matched');
      assert.deepStrictEqual(
        h.events.filter((e) => e.id === target).map((e) => [e.status, e.response]),
        [
          ['sent', null],
          ['succeeded', { percent: 40 }],
        ],
      );
    });

    it("with a device level in the reply topic, the right correlation data on another device's topic is foreign", () => {
      const h = harness();
      h.tracker.submit({ deviceId: 'valve-1', command: 'open' });
      const right = h.sent[0].correlationData;
      assert.strictEqual(h.tracker.reply({ topic: 'devices/valve-2/replies', payload: '{}', correlationData: right }), 'foreign');
      assert.strictEqual(h.tracker.reply({ topic: 'devices/valve-1/replies', payload: '{}', correlationData: right }), 'matched');
    });
  });
});
