import assert from 'assert';
import { startBroker, type TestBroker } from '../helpers/services';
import { startFleet, type Fleet } from './fleet';

// On the real Mosquitto (required when CI=true): 1,000 simulated devices, 5% of which fail every command.
describe('m2m-job over MQTT with 1,000 simulated devices', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  let fleet: Fleet | undefined;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.close());
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });

  it("a job at 100 a second ends with every device in exactly one final state, counts matching the simulator's record", async () => {
    fleet = await startFleet({ url: broker.url, devices: 1000, failingShare: 0.05 });
    const t0 = Date.now();
    fleet.manager.start({
      jobId: 'fw',
      target: { devices: [...fleet.ids] },
      command: 'update',
      params: { version: '3.2' },
      rollout: { perMinute: 6000, maxInFlight: 100 },
      timeout: 10_000,
    });
    const end = await fleet.untilEnded('fw', 40_000);
    const seconds = (Date.now() - t0) / 1000;

    const finals = new Map<string, string[]>();
    for (const e of fleet.executions) if (e.state !== 'in-progress') finals.set(e.deviceId, [...(finals.get(e.deviceId) ?? []), e.state]);
    assert.strictEqual(finals.size, 1000, 'every device ended');
    assert.deepStrictEqual(
      [...finals].filter(([, states]) => states.length !== 1),
      [],
      'each exactly once',
    );
    const record = fleet.record.counts();
    assert.deepStrictEqual(
      { state: end.state, succeeded: end.counts.succeeded, failed: end.counts.failed, other: 1000 - end.counts.succeeded - end.counts.failed },
      { state: 'completed', succeeded: record.ok, failed: record.failed, other: 0 },
    );
    assert.strictEqual(record.devices, 1000);
    assert.strictEqual(record.failed, 50, '5% of the devices');
    for (const [deviceId, [state]] of finals) assert.strictEqual(state, fleet.failing.has(deviceId) ? 'failed' : 'succeeded', deviceId);
    assert.ok(
      fleet.ids.every((id) => fleet?.record.repliesOf(id) === 1),
      'each device got the command once',
    );
    // 1,000 starts at 100 a second: about 10 s
    const startSpan = (fleet.starts[fleet.starts.length - 1].at - fleet.starts[0].at) / 1000;
    assert.ok(startSpan >= 9.5 && startSpan <= 11, `starts over ${startSpan} s`);
    assert.ok(seconds < 20, `${seconds} s`);
  });

  it('an abort stops new starts within one second of the threshold', async () => {
    fleet = await startFleet({ url: broker.url, devices: 1000, failingShare: 0.4 });
    fleet.manager.start({
      jobId: 'bad',
      target: { devices: [...fleet.ids] },
      command: 'update',
      rollout: { perMinute: 6000, maxInFlight: 100 },
      abort: { failurePercent: 10, minFinished: 50 },
      timeout: 10_000,
    });
    const end = await fleet.untilEnded('bad', 40_000);
    assert.strictEqual(end.state, 'aborted');
    assert.match(end.reason ?? '', /finished devices failed, over the 10% limit/);
    const abortedAt = end.endedAt as number;
    const lateStarts = fleet.starts.filter((s) => s.at > abortedAt);
    assert.deepStrictEqual(lateStarts, [], 'the job started nothing after the threshold');
    const lastReceived = Math.max(...fleet.received.map((r) => r.at));
    assert.ok(lastReceived - abortedAt < 1000, `the last command reached a device ${lastReceived - abortedAt} ms after the abort`);
    assert.ok(end.counts.canceled > 800, `most devices never started (${end.counts.canceled} canceled)`);
    assert.strictEqual(end.counts.succeeded + end.counts.failed + end.counts.canceled, 1000);
    assert.strictEqual(end.counts.failed, fleet.record.counts().failed);
  });
});
