import assert from 'assert';
import { JobManager, JOB_RECORD_VERSION } from '../../lib/job';
import { MapStore, devices, rig, type Rig } from './harness';

// A job's state is stored per device: a new manager on the same store resumes each job where it stopped.
describe('m2m-job: restart resumes where it stopped', () => {
  let r: Rig;
  afterEach(() => {
    r.close();
    r.clock.restore();
  });

  it('sends nothing again to devices that succeeded, resolves the attempt in flight by its command id, and completes', async () => {
    r = rig({ latencyMs: 1000 });
    r.manager.start({ jobId: 'fw', target: { devices: devices(30) }, command: 'update', rollout: { perMinute: 600, maxInFlight: 5 } });
    await r.clock.tickAsync(1950);
    await r.manager.settle();
    const succeededBefore = r.executions.filter((e) => e.state === 'succeeded').map((e) => e.deviceId);
    const inFlight = r.sent.filter((s) => !succeededBefore.includes(s.deviceId));
    assert.ok(succeededBefore.length > 0 && inFlight.length > 0);
    // the process stops: its timers die with it, the store stays
    r.manager.close();
    const second = r.restart();
    // the command node resumes its own commands, same ids: their outcomes come back to the new manager
    for (const s of inFlight) if (s.kind === 'command') assert.ok(second.manager.commandOutcome({ commandId: s.commandId, status: 'succeeded' }));
    await r.clock.tickAsync(60_000);
    const resent = second.sent.filter((s) => succeededBefore.includes(s.deviceId) || inFlight.some((f) => f.deviceId === s.deviceId));
    assert.deepStrictEqual(resent, [], 'no device that succeeded or was in flight got the command again');
    const p = second.manager.status('fw');
    assert.deepStrictEqual([p.state, p.counts.succeeded], ['completed', 30]);
    assert.strictEqual(r.sent.length + second.sent.length, 30);
    r = second;
  });

  it('an attempt in flight at the restart is asked for again under its own command id (resume), and that outcome ends it', async () => {
    r = rig({ latencyMs: 1000 });
    r.manager.start({ jobId: 'fw', target: { devices: ['d1'] }, command: 'update', timeout: 5000 });
    await r.clock.tickAsync(10);
    await r.manager.settle();
    const first = r.sent[0];
    assert.ok(first.kind === 'command');
    r.manager.close();
    const second = r.restart();
    await r.clock.tickAsync(0);
    assert.deepStrictEqual(
      second.sent.map((s) => (s.kind === 'command' ? [s.commandId, s.attempt, s.resume] : [])),
      [[first.commandId, 1, true]],
      'the same command, marked resume: m2m-command answers with its outcome, never sends it twice',
    );
    await r.clock.tickAsync(1000);
    assert.strictEqual(second.manager.executionState('fw', 'd1'), 'succeeded');
    await r.clock.tickAsync(10_000);
    assert.strictEqual(second.sent.length, 1, 'no new attempt');
    r = second;
  });

  it('an attempt waiting to retry at the restart is sent after the rest of its backoff', async () => {
    r = rig({ latencyMs: 100, answer: (_id, attempt) => (attempt === 1 ? 'failed' : 'succeeded') });
    r.manager.start({ jobId: 'b', target: { devices: ['d1'] }, command: 'update', retries: 1, backoff: 10_000 });
    await r.clock.tickAsync(4100);
    await r.manager.settle();
    r.manager.close();
    const second = r.restart();
    await r.clock.tickAsync(5999);
    assert.strictEqual(second.sent.length, 0);
    await r.clock.tickAsync(200);
    assert.strictEqual(second.sent.length, 1);
    assert.ok(second.sent[0].kind === 'command' && second.sent[0].commandId.endsWith(':2'), 'the second attempt');
    assert.strictEqual(second.manager.executionState('b', 'd1'), 'succeeded');
    r = second;
  });

  it('an ended job stays ended, with its queued devices canceled', async () => {
    r = rig({ latencyMs: 5000 });
    r.manager.start({ jobId: 'gone', target: { devices: devices(10) }, command: 'update', rollout: { perMinute: 60_000, maxInFlight: 2 } });
    await r.clock.tickAsync(10);
    r.manager.cancel('gone');
    await r.clock.tickAsync(6000);
    await r.manager.settle();
    r.manager.close();
    const second = r.restart();
    const p = second.manager.status('gone');
    assert.deepStrictEqual([p.state, p.counts.succeeded, p.counts.canceled], ['canceled', 2, 8]);
    await r.clock.tickAsync(60_000);
    assert.strictEqual(second.sent.length, 0);
    r = second;
  });

  it('delete forgets an ended job and its stored records; a running one is refused', async () => {
    r = rig({ latencyMs: 100 });
    r.manager.start({ jobId: 'old', target: { devices: devices(5) }, command: 'update', rollout: { perMinute: 60_000 } });
    assert.throws(() => r.manager.control('delete', 'old'), { code: 'INVALID_CONTROL' });
    await r.clock.tickAsync(1000);
    assert.strictEqual(r.manager.status('old').state, 'completed');
    assert.ok(r.store.keys().length >= 7);
    r.manager.control('delete', 'old');
    await r.manager.settle();
    assert.deepStrictEqual(r.store.keys(), []);
    assert.throws(() => r.manager.status('old'), { code: 'JOB_NOT_FOUND' });
    r.manager.start({ jobId: 'old', target: { devices: ['d9'] }, command: 'update' });
  });

  it('refuses a store written by a newer release, and reports an unreadable record without deleting it', () => {
    r = rig();
    const store = new MapStore();
    store.entries.set('job:new', { v: JOB_RECORD_VERSION + 1, doc: { jobId: 'new' } });
    assert.throws(() => new JobManager({ store, onSend: () => undefined }), { code: 'STORE_TOO_NEW' });
    const odd = new MapStore();
    odd.entries.set('x:j/d1', { v: 1, nonsense: true });
    const warnings: string[] = [];
    new JobManager({ store: odd, onSend: () => undefined, onWarning: (w) => warnings.push(w) });
    assert.match(warnings.join(), /1 stored job record\(s\) could not be read .* x:j\/d1/);
    assert.ok(odd.entries.has('x:j/d1'));
  });
});

describe('m2m-job: a desired-state patch', () => {
  let r: Rig;
  afterEach(() => {
    r.close();
    r.clock.restore();
  });

  it('goes to each device through the twin, and is done when its delta is empty', async () => {
    r = rig();
    r.manager.start({ jobId: 'cfg', target: { devices: ['t1', 't2'] }, desired: { setpoint: 21 }, rollout: { perMinute: 60_000 }, timeout: 10_000 });
    await r.clock.tickAsync(10);
    assert.deepStrictEqual(
      r.sent.map((s) => [s.kind, s.deviceId, s.kind === 'desired' ? s.patch : null]),
      [
        ['desired', 't1', { setpoint: 21 }],
        ['desired', 't2', { setpoint: 21 }],
      ],
    );
    assert.ok(r.manager.twinOutcome('t1', false), 'the delta is not empty yet: still in progress');
    assert.strictEqual(r.manager.executionState('cfg', 't1'), 'in-progress');
    r.manager.twinOutcome('t1', true); // synced
    assert.strictEqual(r.manager.executionState('cfg', 't1'), 'succeeded');
    await r.clock.tickAsync(10_000);
    assert.strictEqual(r.manager.executionState('cfg', 't2'), 'timed-out');
  });
});
