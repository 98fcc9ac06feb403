import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import sinon from 'sinon';
import type { TrackerOptions } from '../../lib/command';
import { M2MError } from '../../lib/errors';
import { openRegistry, type DeviceRegistry, type StoreConfig } from '../../lib/registry';
import { FAKE, VALVE, harness, reply, type Harness } from './harness';

describe('command tracker', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers(FAKE);
  });
  afterEach(() => clock.restore());

  describe('sending and correlating', () => {
    it('builds the transport message from the templates, with MQTT 5 response topic and correlation data', () => {
      const h = harness({ commandTopic: 'site/{deviceId}/cmd/{command}', replyTopic: 'site/{deviceId}/re' });
      const { id, status } = h.tracker.submit({ deviceId: 'pump-1', command: 'start', params: { rpm: 900 }, ttl: 4500 });
      assert.strictEqual(status, 'sent');
      const m = h.sent[0];
      assert.strictEqual(m.topic, 'site/pump-1/cmd/start');
      assert.deepStrictEqual(m.payload, { id, command: 'start', params: { rpm: 900 }, ts: Date.now() });
      assert.strictEqual(m.qos, 1);
      assert.strictEqual(m.responseTopic, 'site/pump-1/re');
      assert.ok(Buffer.isBuffer(m.correlationData) && m.correlationData.toString().startsWith(`${id}~`), 'the id and the token');
      assert.strictEqual(m.messageExpiryInterval, 5, 'the broker drops it when the ttl has passed');
      assert.deepStrictEqual(h.statuses(id), ['sent']);
    });

    it('without MQTT 5 properties the id travels only in the payload', () => {
      const h = harness({ mqtt5: false });
      h.tracker.submit({ deviceId: 'd1', command: 'x' });
      assert.strictEqual(h.sent[0].responseTopic, undefined);
      assert.strictEqual(h.sent[0].correlationData, undefined);
    });

    it('matches a reply by correlation data (MQTT 5) or by the id in the payload (3.1.1); failure carries the error', () => {
      const h = harness();
      const a = h.tracker.submit({ deviceId: 'd1', command: 'x' }).id;
      const b = h.tracker.submit({ deviceId: 'd1', command: 'y' }).id;
      clock.tick(25);
      assert.strictEqual(h.tracker.reply({ topic: 'devices/d1/replies', payload: { temperature: 3 }, correlationData: Buffer.from(a) }), 'matched');
      assert.strictEqual(reply(h, b, { status: 'error', error: 'valve stuck' }), 'matched');
      const ended = h.events.filter((e) => e.status !== 'sent');
      assert.deepStrictEqual(
        ended.map((e) => [e.id, e.status, e.response, e.error, e.latencyMs]),
        [
          [a, 'succeeded', { temperature: 3 }, null, 25],
          [b, 'failed', null, 'valve stuck', 25],
        ],
      );
    });

    it('late, duplicate and unknown replies change nothing and are counted', () => {
      const h = harness();
      const { id } = h.tracker.submit({ deviceId: 'd1', command: 'x' });
      assert.strictEqual(reply(h, id), 'matched');
      assert.strictEqual(reply(h, id), 'late');
      assert.strictEqual(reply(h, 'never-issued'), 'unknown');
      assert.deepStrictEqual(h.statuses(id), ['sent', 'succeeded']);
      const c = h.tracker.counts();
      assert.deepStrictEqual([c.succeeded, c.late, c.unknown, c.pending], [1, 1, 1, 0]);
    });
  });

  describe('timeout, retries, ttl', () => {
    it('times out after 10 s by default', () => {
      const h = harness();
      const { id } = h.tracker.submit({ deviceId: 'd1', command: 'x' });
      clock.tick(9999);
      assert.deepStrictEqual(h.statuses(id), ['sent']);
      clock.tick(1);
      const last = h.events[h.events.length - 1];
      assert.deepStrictEqual([last.status, last.attempts, last.error, last.latencyMs], ['timeout', 1, 'no reply within 10000 ms', 10000]);
    });

    it('retries with doubling backoff under the same id, then times out once', () => {
      const h = harness({ backoffMs: 500 });
      const { id } = h.tracker.submit({ deviceId: 'd1', command: 'x', timeout: 1000, retries: 2 });
      const sentAt: number[] = [];
      const start = Date.now();
      for (let t = 0; t < 6000; t += 50) {
        while (sentAt.length < h.sent.length) sentAt.push(Date.now() - start);
        clock.tick(50);
      }
      assert.deepStrictEqual(sentAt, [0, 1500, 3500], 'attempt, +1 s timeout +0.5 s backoff, +1 s +1 s');
      assert.ok(h.sent.every((m) => m.payload.id === id));
      assert.deepStrictEqual(h.statuses(id), ['sent', 'timeout']);
      assert.strictEqual(h.events[1].attempts, 3);
      assert.strictEqual(h.events[1].latencyMs, 4500);
    });

    it('a reply to an earlier attempt still succeeds the command, once', () => {
      const h = harness({ backoffMs: 100 });
      const { id } = h.tracker.submit({ deviceId: 'd1', command: 'x', timeout: 1000, retries: 3 });
      clock.tick(1200); // second attempt out
      assert.strictEqual(h.sent.length, 2);
      assert.strictEqual(reply(h, id), 'matched');
      assert.strictEqual(reply(h, id), 'late', 'the answer to the second attempt');
      clock.tick(20_000);
      assert.deepStrictEqual(h.statuses(id), ['sent', 'succeeded']);
      assert.strictEqual(h.sent.length, 2, 'no retry after success');
    });

    it('expires instead of retrying past the time to live', () => {
      const h = harness({ backoffMs: 1000 });
      const { id } = h.tracker.submit({ deviceId: 'd1', command: 'x', timeout: 1000, retries: 5, ttl: 2500 });
      clock.tick(10_000);
      assert.deepStrictEqual(h.statuses(id), ['sent', 'expired']);
      assert.strictEqual(h.sent.length, 2, 'sent at 0 and 2 s; the third attempt would be past 2.5 s');
    });
  });

  describe('with a registry: offline queue, schemas, persistence', () => {
    let registry: DeviceRegistry;
    let dir: string;
    const open = (store: StoreConfig): Promise<DeviceRegistry> => openRegistry({ name: 'plant', store, types: [VALVE], defaultOfflineTimeoutMs: 60_000 });

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-cmd-'));
      registry = await open({ kind: 'file', dir });
      await registry.register({ id: 'v1', type: 'valve' });
      await registry.register({ id: 'v2', type: 'valve' });
      await registry.touch('v1'); // v1 online, v2 never seen: offline
    });
    afterEach(async () => {
      await registry.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    async function trackerOn(r: DeviceRegistry, options: Partial<TrackerOptions> = {}): Promise<Harness> {
      return harness({ registry: r, store: await r.state('command:n1'), ...options });
    }

    it('queues commands for an offline device and sends them in order when it comes online', async () => {
      const h = await trackerOn(registry);
      const ids = [0, 1, 2].map((i) => h.tracker.submit({ deviceId: 'v2', command: 'open', params: { percent: i * 10 } }).id);
      assert.strictEqual(h.sent.length, 0);
      assert.deepStrictEqual(
        h.events.map((e) => e.status),
        ['queued', 'queued', 'queued'],
      );
      assert.strictEqual(h.tracker.counts().queued, 3);
      clock.tick(3000);
      await registry.touch('v2');
      assert.deepStrictEqual(
        h.sent.map((m) => m.payload.id),
        ids,
        'flushed in order',
      );
      assert.deepStrictEqual(
        h.sent.map((m) => (m.payload.params as { percent: number }).percent),
        [0, 10, 20],
      );
      assert.deepStrictEqual(
        ids.map((id) => h.statuses(id)),
        ids.map(() => ['queued', 'sent']),
      );
      assert.strictEqual(h.events.find((e) => e.status === 'sent')?.latencyMs, 3000, 'time spent queued');
      h.tracker.close();
    });

    it('bounds the queue per device: a command beyond it is rejected, the queued ones are untouched', async () => {
      const h = await trackerOn(registry, { queueLimit: 2 });
      h.tracker.submit({ deviceId: 'v2', command: 'close' });
      h.tracker.submit({ deviceId: 'v2', command: 'close' });
      const third = h.tracker.submit({ deviceId: 'v2', command: 'close' });
      assert.strictEqual(third.status, 'rejected');
      assert.strictEqual(third.error?.code, 'QUEUE_FULL');
      assert.deepStrictEqual(h.statuses(third.id), ['rejected']);
      assert.strictEqual(h.tracker.counts().queued, 2);
      h.tracker.close();
    });

    it('expires queued commands when their time to live ends while the device is offline', async () => {
      const h = await trackerOn(registry);
      const short = h.tracker.submit({ deviceId: 'v2', command: 'close', ttl: 5000 }).id;
      const long = h.tracker.submit({ deviceId: 'v2', command: 'close' }).id;
      clock.tick(5000);
      assert.deepStrictEqual(h.statuses(short), ['queued', 'expired']);
      await registry.touch('v2');
      assert.deepStrictEqual(
        h.sent.map((m) => m.payload.id),
        [long],
        'only the live one is sent',
      );
      h.tracker.close();
    });

    it('a retry for a device that went offline waits in the queue and is reported queued once', async () => {
      const h = await trackerOn(registry, { backoffMs: 65_000, maxBackoffMs: 120_000 });
      const { id } = h.tracker.submit({ deviceId: 'v1', command: 'close', timeout: 1000, retries: 1 });
      clock.tick(70_000); // v1 goes offline after 60 s unseen; the retry comes due at 66 s
      assert.strictEqual(registry.isOnline('v1'), false);
      assert.deepStrictEqual(h.statuses(id), ['sent', 'queued']);
      await registry.touch('v1');
      assert.strictEqual(h.sent.length, 2);
      assert.strictEqual(reply(h, id), 'matched');
      assert.deepStrictEqual(h.statuses(id), ['sent', 'queued', 'succeeded']);
      assert.strictEqual(h.events[h.events.length - 1].attempts, 2);
      h.tracker.close();
    });

    it('checks parameters against the device type and refuses unknown commands and devices before sending', async () => {
      const h = await trackerOn(registry);
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ deviceId: 'v1', command: 'explode' }, 'UNKNOWN_COMMAND'],
        [{ deviceId: 'v1', command: 'open', params: { percent: 150 } }, 'SCHEMA_VALIDATION'],
        [{ deviceId: 'v1', command: 'open', params: {} }, 'SCHEMA_VALIDATION'],
        [{ deviceId: 'ghost', command: 'open', params: { percent: 1 } }, 'DEVICE_NOT_FOUND'],
      ];
      for (const [input, code] of cases) {
        const result = h.tracker.submit(input as { deviceId: string; command: string });
        assert.strictEqual(result.status, 'rejected');
        assert.strictEqual(result.error?.code, code);
        assert.deepStrictEqual(h.statuses(result.id), ['rejected']);
      }
      assert.match(h.events[0].error ?? '', /valve has no command "explode"; known: open, close/);
      assert.match(h.events[1].error ?? '', /\/percent must be <= 100/);
      assert.strictEqual(h.sent.length, 0, 'nothing was sent');
      assert.strictEqual(h.tracker.submit({ deviceId: 'v1', command: 'open', params: { percent: 50 } }).status, 'sent');
      h.tracker.close();
    });

    it('a restart resumes pending and queued commands with the same ids, sending nothing twice as new', async () => {
      let h = await trackerOn(registry);
      const pending = h.tracker.submit({ deviceId: 'v1', command: 'close', timeout: 10_000 }).id;
      const waiting = h.tracker.submit({ deviceId: 'v1', command: 'close', timeout: 10_000 }).id;
      const queued = h.tracker.submit({ deviceId: 'v2', command: 'close' }).id;
      await new Promise((resolve) => setImmediate(resolve));
      clock.tick(4000);
      h.tracker.close();
      await registry.close();

      registry = await open({ kind: 'file', dir }); // a new process reading the same file store
      h = await trackerOn(registry);
      assert.deepStrictEqual(h.tracker.counts(), {
        pending: 2,
        queued: 1,
        succeeded: 0,
        failed: 0,
        timeout: 0,
        expired: 0,
        rejected: 0,
        late: 0,
        unknown: 0,
        foreign: 0,
        anonymous: 0,
      });
      assert.strictEqual(h.sent.length, 0, 'nothing resent on start');
      assert.strictEqual(h.events.length, 0, 'no status repeated');
      assert.strictEqual(reply(h, pending, undefined, 'v1'), 'matched');
      clock.tick(5999);
      assert.deepStrictEqual(h.statuses(waiting), []);
      clock.tick(1);
      assert.deepStrictEqual(h.statuses(waiting), ['timeout'], 'the timeout keeps its original deadline');
      await registry.touch('v2');
      assert.deepStrictEqual(
        h.sent.map((m) => m.payload.id),
        [queued],
        'the queued command is flushed, same id',
      );
      assert.deepStrictEqual(h.statuses(queued), ['sent']);
      h.tracker.close();
    });

    it('queued commands of a removed device are rejected', async () => {
      const h = await trackerOn(registry);
      const { id } = h.tracker.submit({ deviceId: 'v2', command: 'close' });
      await registry.remove('v2');
      assert.deepStrictEqual(h.statuses(id), ['queued', 'rejected']);
      assert.match(h.events[1].error ?? '', /removed/);
      h.tracker.close();
    });
  });

  describe('bad input', () => {
    const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['missing deviceId', { command: 'x' }, 'INVALID_DEVICE_ID', /msg.deviceId is missing/],
      ['deviceId with a topic level', { deviceId: 'a/b', command: 'x' }, 'INVALID_DEVICE_ID', /contains "\/"/],
      ['deviceId with a wildcard', { deviceId: '#', command: 'x' }, 'INVALID_DEVICE_ID', /contains "#"/],
      ['deviceId not a string', { deviceId: 42, command: 'x' }, 'INVALID_DEVICE_ID', /must be a string/],
      ['missing command', { deviceId: 'd1' }, 'INVALID_COMMAND', /msg.command is missing/],
      ['command with a topic level', { deviceId: 'd1', command: 'a/b' }, 'INVALID_COMMAND', /contains "\/"/],
      ['negative timeout', { deviceId: 'd1', command: 'x', timeout: -1 }, 'INVALID_FIELD', /msg.timeout/],
      ['fractional retries', { deviceId: 'd1', command: 'x', retries: 1.5 }, 'INVALID_FIELD', /msg.retries/],
      [
        'cyclic parameters',
        {
          deviceId: 'd1',
          command: 'x',
          params: (() => {
            const o: Record<string, unknown> = {};
            o.o = o;
            return o;
          })(),
        },
        'INVALID_FIELD',
        /cannot be written as JSON/,
      ],
    ];
    for (const [name, input, code, message] of bad) {
      it(`${name}: a clear error, no command, nothing else disturbed`, () => {
        const h = harness();
        const { id } = h.tracker.submit({ deviceId: 'd1', command: 'ok' });
        assert.throws(
          () => h.tracker.submit(input as { deviceId: string; command: string }),
          (err: unknown) => err instanceof M2MError && err.code === code && message.test(err.message),
        );
        assert.strictEqual(h.sent.length, 1);
        assert.strictEqual(reply(h, id), 'matched');
        assert.deepStrictEqual(
          h.events.map((e) => e.status),
          ['sent', 'succeeded'],
        );
      });
    }

    it('a reply that is not JSON, or has no id, is an error and the pending command stays pending', () => {
      const h = harness();
      const { id } = h.tracker.submit({ deviceId: 'd1', command: 'x' });
      assert.throws(() => h.tracker.reply({ topic: 'devices/d1/replies', payload: 'OK!' }), /reply on devices\/d1\/replies is not JSON: "OK!"/);
      assert.throws(() => h.tracker.reply({ topic: 'devices/d1/replies', payload: Buffer.from('{"id":') }), /not JSON/);
      assert.throws(() => h.tracker.reply({ topic: 'devices/d1/replies', payload: { status: 'ok' } }), /has no command id/);
      assert.strictEqual(h.tracker.counts().pending, 1);
      assert.strictEqual(reply(h, id), 'matched');
    });

    it('a caller-chosen id that is already in progress is refused', () => {
      const h = harness();
      h.tracker.submit({ deviceId: 'd1', command: 'x', commandId: 'job-7' });
      assert.throws(() => h.tracker.submit({ deviceId: 'd1', command: 'x', commandId: 'job-7' }), /job-7 is already in progress/);
      assert.strictEqual(h.sent.length, 1);
    });
  });
});
