import assert from 'assert';
import { devices, finalStates, lastProgress, rig, type Rig } from './harness';

// The rollout under fake timers: rate limit, ramp, in-flight bound, retries with backoff, timeouts, abort,
// pause/resume, cancel, and two jobs sharing a device.
describe('m2m-job rollout (fake timers)', () => {
  let r: Rig;
  afterEach(() => {
    r.close();
    r.clock.restore();
  });

  it('starts at most M devices in any minute, evenly spaced', async () => {
    r = rig({ latencyMs: 10 });
    r.manager.start({ jobId: 'rate', target: { devices: devices(100) }, command: 'reboot', rollout: { perMinute: 30, maxInFlight: 50 } });
    await r.clock.tickAsync(3 * 60_000);
    const times = r.sent.map((s) => s.at);
    assert.strictEqual(times.length, 91, '30 a minute for 3 minutes, the first at once');
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((t) => t >= times[i] && t < times[i] + 60_000).length;
      assert.ok(inWindow <= 30, `${inWindow} starts in the minute from ${times[i]}`);
    }
    assert.ok(
      times.slice(1).every((t, i) => t - times[i] === 2000),
      'one start every 2 s',
    );
  });

  it('never has more than N devices in flight', async () => {
    r = rig({ latencyMs: 5000 });
    r.manager.start({ jobId: 'bound', target: { devices: devices(50) }, command: 'reboot', rollout: { perMinute: 60_000, maxInFlight: 4 } });
    await r.clock.tickAsync(200);
    assert.strictEqual(r.sent.length, 4, 'four start at once, then the bound holds');
    await r.clock.tickAsync(5000);
    assert.strictEqual(r.sent.length, 8);
    await r.clock.tickAsync(120_000);
    assert.strictEqual(r.maxInFlight(), 4);
    assert.strictEqual(lastProgress(r.progress, 'bound').counts.succeeded, 50);
    assert.strictEqual(lastProgress(r.progress, 'bound').state, 'completed');
  });

  it('ramps: starts slow and doubles the rate after each batch of successes while the success rate holds', async () => {
    r = rig({ latencyMs: 10 });
    r.manager.start({
      jobId: 'ramp',
      target: { devices: devices(1000) },
      command: 'update',
      rollout: { perMinute: 480, maxInFlight: 100, ramp: { startPerMinute: 60, factor: 2, afterSucceeded: 10, minSuccessPercent: 90 } },
    });
    const startsIn = async (ms: number): Promise<number> => {
      const before = r.sent.length;
      await r.clock.tickAsync(ms);
      return r.sent.length - before;
    };
    assert.strictEqual(await startsIn(9_999), 10, 'first 10 s at 60/min');
    assert.strictEqual(r.manager.status('ramp').ratePerMinute, 120, 'doubled after 10 successes');
    await r.clock.tickAsync(60_000);
    assert.strictEqual(r.manager.status('ramp').ratePerMinute, 480, 'up to the ceiling');
    const atCeiling = await startsIn(30_000);
    assert.ok(atCeiling >= 239 && atCeiling <= 241, `about 240 in 30 s at 480/min, got ${atCeiling}`);
  });

  it('does not ramp while the success rate is below the bar', async () => {
    r = rig({ latencyMs: 10, answer: (id) => (Number(id.slice(1)) % 4 === 0 ? 'failed' : 'succeeded') });
    r.manager.start({
      jobId: 'flat',
      target: { devices: devices(100) },
      command: 'update',
      rollout: { perMinute: 600, maxInFlight: 100, ramp: { startPerMinute: 60, factor: 2, afterSucceeded: 5, minSuccessPercent: 90 } },
    });
    await r.clock.tickAsync(60_000);
    assert.strictEqual(r.manager.status('flat').ratePerMinute, 60, '75% success: the rate stays at its start');
    assert.ok(r.sent.length <= 61);
  });

  it('retries a failure with doubling backoff, up to the retry count, with a new command id each time', async () => {
    r = rig({ latencyMs: 100, answer: (id, attempt) => (id === 'd1' && attempt < 3 ? 'failed' : 'succeeded') });
    r.manager.start({ jobId: 'retry', target: { devices: ['d1'] }, command: 'update', retries: 2, backoff: 1000 });
    await r.clock.tickAsync(100);
    assert.strictEqual(r.sent.length, 1);
    await r.clock.tickAsync(999);
    assert.strictEqual(r.sent.length, 1, 'waits the backoff');
    await r.clock.tickAsync(1);
    assert.strictEqual(r.sent.length, 2);
    await r.clock.tickAsync(100 + 1999);
    assert.strictEqual(r.sent.length, 2, 'the second backoff is twice as long');
    await r.clock.tickAsync(1 + 100);
    assert.strictEqual(r.sent.length, 3);
    const ids = r.sent.map((s) => (s.kind === 'command' ? s.commandId : ''));
    assert.strictEqual(new Set(ids).size, 3);
    assert.strictEqual(r.manager.executionState('retry', 'd1'), 'succeeded');
    assert.deepStrictEqual(
      r.executions.filter((e) => e.retrying).map((e) => e.attempts),
      [1, 2],
    );
  });

  it('ends failed once the retries are used up', async () => {
    r = rig({ latencyMs: 100, answer: () => 'failed' });
    r.manager.start({ jobId: 'nope', target: { devices: ['d1'] }, command: 'update', retries: 1, backoff: 500 });
    await r.clock.tickAsync(10_000);
    assert.strictEqual(r.sent.length, 2);
    assert.strictEqual(r.manager.executionState('nope', 'd1'), 'failed');
    assert.strictEqual(lastProgress(r.progress, 'nope').state, 'completed');
  });

  it('times a silent device out after the timeout, retries it, and ends it timed-out', async () => {
    r = rig({ answer: () => 'silent' });
    r.manager.start({
      jobId: 'quiet',
      target: { devices: ['d1', 'd2'] },
      command: 'update',
      timeout: 5000,
      retries: 1,
      backoff: 1000,
      rollout: { perMinute: 60_000 },
    });
    await r.clock.tickAsync(4999);
    assert.strictEqual(r.manager.executionState('quiet', 'd1'), 'in-progress');
    await r.clock.tickAsync(2);
    assert.strictEqual(r.executions.filter((e) => e.retrying && e.error?.includes('no outcome')).length, 2);
    await r.clock.tickAsync(1000 + 5000);
    assert.deepStrictEqual([...finalStates(r.executions, 'quiet').values()], ['timed-out', 'timed-out']);
    assert.strictEqual(r.sent.length, 4);
  });

  it('a late outcome of an attempt that timed out changes nothing', async () => {
    r = rig({ answer: () => 'silent' });
    r.manager.start({ jobId: 'late', target: { devices: ['d1'] }, command: 'update', timeout: 1000 });
    await r.clock.tickAsync(1000);
    const sent = r.sent[0];
    assert.ok(sent.kind === 'command');
    assert.strictEqual(r.manager.commandOutcome({ commandId: sent.commandId, status: 'succeeded' }), false);
    assert.strictEqual(r.manager.executionState('late', 'd1'), 'timed-out');
  });

  it('aborts when failures pass the percentage after K finished: no new starts, queued devices canceled, the reason given', async () => {
    r = rig({ latencyMs: 100, answer: (id) => (Number(id.slice(1)) % 3 === 0 ? 'failed' : 'succeeded') });
    r.manager.start({
      jobId: 'bad',
      target: { devices: devices(100) },
      command: 'update',
      rollout: { perMinute: 600, maxInFlight: 1 },
      abort: { failurePercent: 20, minFinished: 10 },
    });
    await r.clock.tickAsync(60_000);
    const p = lastProgress(r.progress, 'bad');
    assert.strictEqual(p.state, 'aborted');
    assert.match(p.reason ?? '', /30\.0% of 10 finished devices failed, over the 20% limit/);
    assert.strictEqual(r.sent.length, 10, 'nothing started after the threshold');
    assert.strictEqual(p.counts.canceled, 90);
    assert.strictEqual(p.counts.succeeded + p.counts.failed, 10);
  });

  it('aborts on the timeout percentage alone', async () => {
    r = rig({ latencyMs: 100, answer: (id) => (Number(id.slice(1)) % 2 === 0 ? 'silent' : 'succeeded') });
    r.manager.start({
      jobId: 'slow',
      target: { devices: devices(20) },
      command: 'update',
      timeout: 1000,
      rollout: { perMinute: 60_000, maxInFlight: 5 },
      abort: { timeoutPercent: 10, minFinished: 5 },
    });
    await r.clock.tickAsync(10_000);
    const p = lastProgress(r.progress, 'slow');
    assert.strictEqual(p.state, 'aborted');
    assert.match(p.reason ?? '', /timed out/);
  });

  it('pause stops new starts, in-flight devices finish; resume goes on where it stopped', async () => {
    r = rig({ latencyMs: 500 });
    r.manager.start({ jobId: 'p', target: { devices: devices(20) }, command: 'update', rollout: { perMinute: 60, maxInFlight: 5 } });
    await r.clock.tickAsync(4500);
    assert.strictEqual(r.sent.length, 5);
    r.manager.pause('p');
    await r.clock.tickAsync(60_000);
    assert.strictEqual(r.sent.length, 5, 'nothing started while paused');
    const paused = lastProgress(r.progress, 'p');
    assert.deepStrictEqual([paused.state, paused.counts.succeeded, paused.counts.queued], ['paused', 5, 15]);
    r.manager.resume('p');
    await r.clock.tickAsync(15_000);
    const done = lastProgress(r.progress, 'p');
    assert.deepStrictEqual([done.state, done.counts.succeeded], ['completed', 20]);
    assert.strictEqual(new Set(r.sent.map((s) => s.deviceId)).size, 20, 'no device got it twice');
  });

  it('cancel ends queued devices canceled and lets in-flight ones finish', async () => {
    r = rig({ latencyMs: 3000 });
    r.manager.start({ jobId: 'c', target: { devices: devices(10) }, command: 'update', rollout: { perMinute: 60_000, maxInFlight: 2 } });
    await r.clock.tickAsync(100);
    r.manager.cancel('c', 'operator said stop');
    await r.clock.tickAsync(10_000);
    const p = lastProgress(r.progress, 'c');
    assert.deepStrictEqual([p.state, p.reason, p.counts.succeeded, p.counts.canceled, p.counts['in-progress']], ['canceled', 'operator said stop', 2, 8, 0]);
    assert.strictEqual(r.sent.length, 2);
    assert.throws(() => r.manager.resume('c'), { code: 'JOB_ENDED' });
  });

  it('a device in two jobs gets them one after the other', async () => {
    r = rig({ latencyMs: 1000 });
    r.manager.start({ jobId: 'A', target: { devices: ['shared', 'a1'] }, command: 'first', rollout: { perMinute: 60_000, maxInFlight: 5 } });
    r.manager.start({ jobId: 'B', target: { devices: ['shared', 'b1'] }, command: 'second', rollout: { perMinute: 60_000, maxInFlight: 5 } });
    await r.clock.tickAsync(10);
    assert.deepStrictEqual(r.sent.map((s) => `${s.jobId}:${s.deviceId}`).sort(), ['A:a1', 'A:shared', 'B:b1']);
    await r.clock.tickAsync(1000);
    const toShared = r.sent.filter((s) => s.deviceId === 'shared');
    assert.deepStrictEqual(
      toShared.map((s) => s.jobId),
      ['A', 'B'],
    );
    assert.strictEqual(toShared[1].at - toShared[0].at, 1000, 'B starts on it once A has its outcome');
    await r.clock.tickAsync(1000);
    assert.deepStrictEqual([lastProgress(r.progress, 'A').state, lastProgress(r.progress, 'B').state], ['completed', 'completed']);
    assert.ok(r.maxInFlight() <= 3);
  });

  it('reports progress: counts per state, rate and an expected end', async () => {
    r = rig({ latencyMs: 10 });
    r.manager.start({ jobId: 'prog', target: { devices: devices(60) }, command: 'update', rollout: { perMinute: 60, maxInFlight: 5 } });
    await r.clock.tickAsync(30_500);
    const p = r.manager.status('prog');
    assert.strictEqual(p.total, 60);
    assert.strictEqual(p.counts.succeeded, 31);
    assert.strictEqual(p.counts.queued, 29);
    assert.strictEqual(p.ratePerMinute, 60);
    assert.ok(p.expectedEndAt !== null && Math.abs(p.expectedEndAt - (Date.now() + 29_000)) < 2000, `expected end in ~29 s, got ${String(p.expectedEndAt)}`);
  });

  it('close clears every timer it set: pacing, timeouts, backoffs, progress', async () => {
    r = rig({ answer: () => 'silent' });
    r.manager.start({
      jobId: 'x',
      target: { devices: devices(50) },
      command: 'update',
      rollout: { perMinute: 60, maxInFlight: 5 },
      retries: 3,
      timeout: 1000,
      backoff: 60_000,
      deadline: 0,
    });
    await r.clock.tickAsync(3500);
    assert.ok(r.clock.countTimers() > 2);
    await r.manager.close();
    assert.strictEqual(r.clock.countTimers(), 0);
  });
});
