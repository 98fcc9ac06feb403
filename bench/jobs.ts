// bench:jobs: the bookkeeping a 100,000-device job costs, beside a plain loop that sends the same commands to the
// same devices and keeps each device's outcome in a Map, in the same run: heap per execution, CPU per device; and
// how closely the rollout keeps to its rate (at 10,000 a second for 100,000 devices, and at 1,000 a second).
import { JobManager, type JobStore, type SendRequest } from '../lib/job';
import { fmt, gc, heapUsed, report } from './harness';

const DEVICES = 100_000;
const ids = Array.from({ length: DEVICES }, (_, i) => `pump-${String(i).padStart(6, '0')}`);

/** Keeps nothing: the store's own memory and speed are the registry's (bench:registry), not the job's. */
const nullStore: JobStore = { get: () => undefined, set: () => Promise.resolve(), delete: () => Promise.resolve(), keys: () => [] };

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface JobRun {
  seconds: number;
  cpuMsPerDevice: number;
  heapPerExecution: number;
  startsPerSecond: number;
  count: number;
}

/** Runs one job whose devices answer at once (a microtask later), and measures it. */
async function runJob(count: number, perSecond: number): Promise<JobRun> {
  const starts: number[] = [];
  let ended: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (ended = resolve));
  gc();
  const heapBefore = heapUsed();
  let heapDuring = 0;
  const manager: JobManager = new JobManager({
    store: nullStore,
    progressEveryMs: 1000,
    onSend: (r: SendRequest) => {
      starts.push(performance.now());
      if (r.kind === 'command') queueMicrotask(() => manager.commandOutcome({ commandId: r.commandId, status: 'succeeded' }));
    },
    onProgress: (p) => {
      if (p.state === 'completed') ended();
    },
  });
  const cpu0 = cpuMs();
  const t0 = performance.now();
  manager.start({
    jobId: 'bench',
    target: { devices: ids.slice(0, count) },
    command: 'update',
    params: { version: '3.2' },
    rollout: { perMinute: perSecond * 60, maxInFlight: 1000 },
  });
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMs() - cpu0;
  heapDuring = heapUsed();
  await manager.close();
  const startsPerSecond = (starts.length - 1) / ((starts[starts.length - 1] - starts[0]) / 1000);
  return { seconds, cpuMsPerDevice: cpu / count, heapPerExecution: (heapDuring - heapBefore) / count, startsPerSecond, count };
}

/** The plain loop: the same command message per device handed to the same kind of sink, each outcome kept in a Map. */
async function plainLoop(count: number): Promise<{ cpuMsPerDevice: number; heapPerDevice: number }> {
  gc();
  const heapBefore = heapUsed();
  const states = new Map<string, { state: string; attempts: number }>();
  const cpu0 = cpuMs();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const deviceId = ids[i];
    const message = {
      kind: 'command',
      jobId: 'bench',
      deviceId,
      command: 'update',
      params: { version: '3.2' },
      commandId: `bench:${i.toString(36)}:1`,
      timeoutMs: 30_000,
      attempt: 1,
    };
    states.set(deviceId, { state: 'in-progress', attempts: 1 });
    pending.push(
      new Promise<void>((resolve) =>
        queueMicrotask(() => {
          (states.get(message.deviceId) as { state: string }).state = 'succeeded';
          resolve();
        }),
      ),
    );
    if (pending.length >= 1000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const cpu = cpuMs() - cpu0;
  const heap = heapUsed() - heapBefore;
  if (states.size !== count) throw new Error('lost devices');
  return { cpuMsPerDevice: cpu / count, heapPerDevice: heap / count };
}

async function main(): Promise<void> {
  console.log(`bench:jobs — ${fmt(DEVICES)} devices, Node ${process.version}`);
  const plain = await plainLoop(DEVICES);
  const big = await runJob(DEVICES, 10_000);
  report({
    name: 'heap per execution (job kept, all ended)',
    value: big.heapPerExecution,
    unit: 'bytes',
    baseline: plain.heapPerDevice,
    baselineName: 'plain loop + Map',
  });
  report({
    name: 'CPU per device (schedule, send, outcome)',
    value: big.cpuMsPerDevice * 1000,
    unit: 'µs',
    baseline: plain.cpuMsPerDevice * 1000,
    baselineName: 'plain loop',
  });
  console.log(`  scheduling overhead per device: ${fmt((big.cpuMsPerDevice - plain.cpuMsPerDevice) * 1000, 2)} µs over the plain loop`);
  const bigError = (big.startsPerSecond / 10_000 - 1) * 100;
  report({ name: 'rollout rate, 100,000 devices at 10,000/s', value: big.startsPerSecond, unit: 'starts/s', baseline: 10_000, baselineName: 'configured' });
  console.log(`  ${fmt(big.seconds, 1)} s for the job; rate off by ${bigError.toFixed(2)}% (bar: within 5%)`);
  const small = await runJob(10_000, 1000);
  const smallError = (small.startsPerSecond / 1000 - 1) * 100;
  report({ name: 'rollout rate, 10,000 devices at 1,000/s', value: small.startsPerSecond, unit: 'starts/s', baseline: 1000, baselineName: 'configured' });
  console.log(`  ${fmt(small.seconds, 1)} s for the job; rate off by ${smallError.toFixed(2)}% (bar: within 5%)`);
  if (Math.abs(bigError) > 5 || Math.abs(smallError) > 5) process.exitCode = 1;
}

void main();
