// bench:e2e: the plant pipeline through a real broker, one Node-RED process per side (see flows.ts), fed by
// mqtt.js publishers through a Mosquitto started here on a free port. Per side: msgs/s, CPU µs per message of
// the Node-RED process, p50/p99 publish-to-alarm latency, peak RSS, at full rate and at a fixed rate; each
// round runs every side (in a rotated order), and the figures are the median and range over the rounds, with
// ratios to the floor (one bare node) and to core (json → function) taken within each round.
// A side that loses or reorders an expected alarm fails the bench.
//   npm run bench:e2e -- [--quick] [--rounds N] [--sides pack,floor] [--rate msgs/s] [--profile] [--before <commit>]
// --before adds a side `before`: the pack flow with the pack as it was at <commit>, for a before/after ratio;
// --pack <commit> runs the pack side on a commit instead of the working tree (which may hold unfinished work).
import { type ChildProcess, execFileSync, fork, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { performance } from 'perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort } from '../../test/helpers/services';
import { fmt, percentile } from '../harness';
import { SIDES, type Side, sideFlow } from './flows';
import { buildPhases, type Phase } from './workload';

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(`--${name}`);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

const QUICK = flag('quick');
const PROFILE = flag('profile');
const DEVICES = 1000;
const FIXED_RATE = Number(option('rate') ?? 10_000);
const ROUNDS = Number(option('rounds') ?? (QUICK ? 1 : 3));
const BEFORE = option('before');
const SELECTED = (option('sides')?.split(',') ?? (BEFORE ? ['pack', 'before', ...SIDES.slice(1)] : SIDES)) as Side[];
const PLAN = QUICK
  ? [
      { name: 'warmup', perDevice: 5 },
      { name: 'full', perDevice: 20 },
      { name: 'fixed', perDevice: 20, rate: FIXED_RATE },
    ]
  : [
      { name: 'warmup', perDevice: 20 },
      { name: 'full', perDevice: 100 },
      { name: 'fixed', perDevice: 100, rate: FIXED_RATE },
    ];
const PUBLISHERS = 2;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PROFILE_DIR = path.join(os.tmpdir(), 'm2m-bench-e2e-profiles');
const ROOT = path.join(__dirname, '../..');
/** The pack compiled as `npm run build` compiles it (tsc), and the bench's Node-RED side of itself: what users run. */
const BUILD = path.join(ROOT, 'bench/out/e2e-build');
const CHILD_FILES = ['node-red-child', 'flows', 'bare-nodes'];

/** The pack at a commit, compiled the same way: the `before` side, and the `pack` side with --pack. */
const BEFORE_BUILD = path.join(ROOT, 'bench/out/e2e-before');
const PACK_BUILD = path.join(ROOT, 'bench/out/e2e-pack');
const PACK_REV = option('pack');

function buildRev(rev: string, out: string): void {
  const source = `${out}-src`;
  fs.rmSync(source, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(source, { recursive: true });
  const archive = execFileSync('git', ['archive', '--format=tar', rev, 'lib', 'nodes', 'tsconfig.json', 'tsconfig.build.json'], {
    cwd: ROOT,
    maxBuffer: 1 << 28,
  });
  execFileSync('tar', ['-x', '-C', source], { input: archive });
  try {
    execFileSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', path.join(source, 'tsconfig.build.json'), '--outDir', out, '--declaration', 'false'],
      { cwd: source, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  } catch {
    // emitted all the same
  }
}

function build(): void {
  fs.rmSync(BUILD, { recursive: true, force: true });
  const tsc = [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', BUILD, '--declaration', 'false'];
  try {
    execFileSync(process.execPath, tsc, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    // a type error elsewhere in the tree still emits; a missing node file fails the side that needs it
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  fs.mkdirSync(path.join(BUILD, 'bench/e2e'), { recursive: true });
  for (const file of CHILD_FILES) {
    const source = fs.readFileSync(path.join(__dirname, `${file}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    fs.writeFileSync(path.join(BUILD, 'bench/e2e', `${file}.js`), outputText);
  }
}

interface PhaseResult {
  msgsPerSecond: number;
  cpuMicrosPerMessage: number;
  p50: number;
  p99: number;
}

interface SideResult {
  phases: Record<string, PhaseResult>;
  peakRssMb: number;
}

// ---- Mosquitto -------------------------------------------------------------------------------------------

async function startMosquitto(): Promise<{ port: number; stop(): void }> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-bench-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  // no queue limit: a side slower than the publishers must get every message late, not lose it
  fs.writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'set_tcp_nodelay true', 'max_queued_messages 0', 'persistence false', ''].join('\n'),
  );
  const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const client = await connect(port);
      await client.endAsync();
      break;
    } catch {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`mosquitto did not start on port ${port}: ${stderr}`);
      await sleep(50);
    }
  }
  return {
    port,
    stop: () => {
      proc.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function connect(port: number): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 2000, clean: true });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the Node-RED process ----------------------------------------------------------------------------------

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of the whole line)
}

function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function startNodeRed(side: Side, brokerPort: number, round: number): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const flowFile = path.join(os.tmpdir(), `m2m-bench-e2e-${process.pid}-${side}.json`);
  fs.writeFileSync(flowFile, JSON.stringify(sideFlow(side, brokerPort)));
  const execArgv: string[] = [];
  if (PROFILE) execArgv.push('--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `${side}-round${round}.cpuprofile`);
  const child = fork(path.join(BUILD, 'bench/e2e/node-red-child.js'), [], {
    execArgv,
    env: {
      ...process.env,
      BENCH_FLOW_FILE: flowFile,
      ...(side === 'before' ? { BENCH_PACK_ROOT: BEFORE_BUILD } : side === 'pack' && PACK_REV ? { BENCH_PACK_ROOT: PACK_BUILD } : {}),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
    child.once('exit', (code) => reject(new Error(`Node-RED (${side}) exited with ${code} before it was ready`)));
  });
  return {
    child,
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send('stop');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(flowFile, { force: true });
    },
  };
}

// ---- publishing and watching -------------------------------------------------------------------------------

interface Pending {
  event: string;
  value: number;
  n: number;
  sentAt: number;
}

/** What comes out of one side: every expected overheat transition, per device in order, and nothing unexpected. */
class Watcher {
  private readonly pending = new Map<string, Pending[]>();
  private outstanding = 0;
  private onEmpty: (() => void) | undefined;
  latencies: number[] = [];
  lastAt = 0;
  readonly problems: string[] = [];

  expect(deviceId: string, entry: Pending): void {
    let queue = this.pending.get(deviceId);
    if (!queue) this.pending.set(deviceId, (queue = []));
    queue.push(entry);
    this.outstanding++;
  }

  receive(topic: string, payload: Buffer): void {
    const now = performance.now();
    const parts = topic.split('/');
    if (parts[0] === 'alarm') {
      const [, deviceId, rule] = parts;
      const event = JSON.parse(payload.toString()) as { event: string; value: number };
      // probes and phase sentinels stop sending, so their sensor-stale alarms come, rightly
      if (rule !== 'overheat' && !deviceId.startsWith('machine-')) return;
      if (rule !== 'overheat') return this.problem(`unexpected ${rule} ${event.event} alarm of ${deviceId}`);
      const head = this.pending.get(deviceId)?.[0];
      if (deviceId.startsWith('probe-')) return;
      if (!head || head.event !== event.event || head.value !== event.value) {
        return this.problem(`${deviceId}: got overheat ${event.event} at ${event.value}, expected ${head ? `${head.event} at ${head.value}` : 'nothing'}`);
      }
      this.settle(deviceId, now);
    } else if (parts[0] === 'out') {
      const deviceId = parts[2];
      const head = this.pending.get(deviceId)?.[0];
      if (!head) return;
      const { n } = JSON.parse(payload.toString()) as { n: number };
      if (n === head.n) this.settle(deviceId, now);
      else if (n > head.n) this.problem(`${deviceId}: reading ${head.n} never came out`);
    }
  }

  private settle(deviceId: string, now: number): void {
    const queue = this.pending.get(deviceId) as Pending[];
    const head = queue.shift() as Pending;
    this.latencies.push(now - head.sentAt);
    this.lastAt = now;
    if (--this.outstanding === 0) this.onEmpty?.();
  }

  private problem(text: string): void {
    if (this.problems.length < 20) this.problems.push(text);
  }

  /** Resolves once every expected transition came out; rejects after `timeoutMs` with what is missing. */
  drained(timeoutMs: number): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onEmpty = undefined;
        const missing = [...this.pending]
          .filter(([, q]) => q.length > 0)
          .slice(0, 5)
          .map(([id, q]) => `${id} ${q[0].event} at ${q[0].value}`);
        reject(new Error(`${this.outstanding} expected alarms never came out (e.g. ${missing.join('; ')})`));
      }, timeoutMs);
      this.onEmpty = () => {
        clearTimeout(timer);
        this.onEmpty = undefined;
        resolve();
      };
    });
  }
}

function publishAsync(client: MqttClient, topic: string, payload: string): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, payload, { qos: 0 }, (err) => (err ? reject(err) : resolve())));
}

/** Publishes a phase, as fast as the sockets take it or at `phase.rate`; each device always goes through the same publisher. */
async function publish(phase: Phase, publishers: MqttClient[], watcher: Watcher): Promise<void> {
  const { readings } = phase;
  // every device is published by the same client: readings are interleaved device by device and the device
  // count is a multiple of the publisher count; the sentinel's two readings go through one client
  const clientOf = (i: number): MqttClient => publishers[i >= readings.length - 2 ? 0 : i % publishers.length];
  if (phase.rate === undefined) {
    for (let i = 0; i < readings.length;) {
      const end = Math.min(readings.length, i + 500);
      for (; i < end; i++) sendVia(i);
      await Promise.all(publishers.map((c) => publishAsync(c, 'bench/flush', '')));
    }
    return;
  }
  const start = performance.now();
  let i = 0;
  while (i < readings.length) {
    const due = Math.min(readings.length, Math.floor(((performance.now() - start) * phase.rate) / 1000));
    for (; i < due; i++) sendVia(i);
    await sleep(1);
  }

  function sendVia(i: number): void {
    const r = readings[i];
    if (r.transition) watcher.expect(r.deviceId, { ...r.transition, n: r.n, sentAt: performance.now() });
    clientOf(i).publish(r.topic, r.payload, { qos: 0 });
  }
}

// ---- one side, one round -------------------------------------------------------------------------------------

async function probe(publisher: MqttClient, side: Side): Promise<void> {
  // the flow's subscription may lag its connection: a probe device overheats until one of its alarms comes out
  for (let k = 0; k < 100; k++) {
    const deviceId = `probe-${k}`;
    const topic = `bench/${deviceId}/telemetry`;
    const got = new Promise<boolean>((resolve) => {
      const listener = (t: string): void => {
        if (t.includes(`/${deviceId}/`)) {
          publisher.removeListener('message', listener);
          resolve(true);
        }
      };
      publisher.on('message', listener);
      setTimeout(() => {
        publisher.removeListener('message', listener);
        resolve(false);
      }, 300);
    });
    for (let n = 0; n < 2; n++) publisher.publish(topic, `{"temperature":90,"vibration":3.2,"n":${n}}`);
    if (await got) return;
  }
  throw new Error(`${side}: no probe came through the flow`);
}

async function runSide(side: Side, brokerPort: number, phases: Phase[], round: number): Promise<SideResult> {
  const nodeRed = await startNodeRed(side, brokerPort, round);
  const pid = nodeRed.child.pid as number;
  const watcher = new Watcher();
  const subscriber = await connect(brokerPort);
  const publishers = await Promise.all(Array.from({ length: PUBLISHERS }, () => connect(brokerPort)));
  try {
    const prober = await connect(brokerPort);
    await prober.subscribeAsync(['alarm/+/+', 'out/#'], { qos: 0 });
    await probe(prober, side);
    await prober.endAsync();

    subscriber.on('message', (topic, payload) => watcher.receive(topic, payload));
    await subscriber.subscribeAsync(['alarm/+/+', 'out/#'], { qos: 0 });
    const result: SideResult = { phases: {}, peakRssMb: 0 };
    for (const phase of phases) {
      watcher.latencies = [];
      const startTicks = cpuTicks(pid);
      const start = performance.now();
      await publish(phase, publishers, watcher);
      await watcher.drained(120_000);
      const elapsed = watcher.lastAt - start;
      const ticks = cpuTicks(pid) - startTicks;
      if (watcher.problems.length) throw new Error(`${side}: ${watcher.problems.join('; ')}`);
      const sorted = Float64Array.from(watcher.latencies).sort();
      result.phases[phase.name] = {
        msgsPerSecond: phase.readings.length / (elapsed / 1000),
        cpuMicrosPerMessage: ((ticks / CLK_TCK) * 1e6) / phase.readings.length,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
      };
      await sleep(200);
    }
    result.peakRssMb = peakRssMb(pid);
    if (watcher.problems.length) throw new Error(`${side}: ${watcher.problems.join('; ')}`);
    return result;
  } finally {
    await Promise.all([subscriber, ...publishers].map((c) => c.endAsync().catch(() => undefined)));
    await nodeRed.stop();
  }
}

// ---- report ------------------------------------------------------------------------------------------------------

function summary(values: number[], digits: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] + (sorted.length % 2 === 0 ? (sorted[sorted.length / 2] - sorted[sorted.length / 2 - 1]) / 2 : 0);
  const text = fmt(median, digits);
  return sorted.length > 1 ? `${text} [${fmt(sorted[0], digits)}–${fmt(sorted[sorted.length - 1], digits)}]` : text;
}

function printPhase(name: string, rounds: Array<Partial<Record<Side, SideResult>>>): void {
  const sides = SELECTED.filter((s) => rounds.every((r) => r[s]));
  const col = (values: number[], digits: number): string => summary(values, digits).padStart(26);
  const fixed = name === 'fixed';
  console.log(`\n${name === 'full' ? 'full rate' : `fixed ${fmt(FIXED_RATE)} msgs/s`}, ${fmt(rounds.length)} round(s); median [range]`);
  console.log(
    `${'side'.padEnd(8)}${'msgs/s'.padStart(26)}${'CPU µs/msg'.padStart(26)}${'p50 ms'.padStart(26)}${'p99 ms'.padStart(26)}${'CPU / floor'.padStart(26)}${'CPU / core'.padStart(26)}${(fixed ? 'p99 / floor' : '').padStart(26)}${BEFORE ? 'CPU / before'.padStart(26) : ''}`,
  );
  for (const side of sides) {
    const of = (r: Partial<Record<Side, SideResult>>, s: Side): PhaseResult => (r[s] as SideResult).phases[name];
    const ratio = (base: Side, key: keyof PhaseResult): string =>
      rounds.every((r) => r[base])
        ? col(
            rounds.map((r) => of(r, side)[key] / of(r, base)[key]),
            2,
          )
        : ''.padStart(26);
    console.log(
      side.padEnd(8) +
        col(
          rounds.map((r) => of(r, side).msgsPerSecond),
          0,
        ) +
        col(
          rounds.map((r) => of(r, side).cpuMicrosPerMessage),
          1,
        ) +
        col(
          rounds.map((r) => of(r, side).p50),
          2,
        ) +
        col(
          rounds.map((r) => of(r, side).p99),
          2,
        ) +
        ratio('floor', 'cpuMicrosPerMessage') +
        ratio('core', 'cpuMicrosPerMessage') +
        (fixed ? ratio('floor', 'p99') : ''.padStart(26)) +
        (BEFORE ? ratio('before', 'cpuMicrosPerMessage') : ''),
    );
  }
}

async function main(): Promise<void> {
  if (PROFILE) fs.mkdirSync(PROFILE_DIR, { recursive: true });
  build();
  if (BEFORE) buildRev(BEFORE, BEFORE_BUILD);
  if (PACK_REV) buildRev(PACK_REV, PACK_BUILD);
  const broker = await startMosquitto();
  const phases = buildPhases(DEVICES, PLAN);
  const expected = phases.map((p) => `${p.name} ${fmt(p.readings.length)} msgs, ${fmt(p.readings.filter((r) => r.transition).length)} alarms`);
  console.log(
    `bench:e2e${QUICK ? ' (quick)' : ''}${BEFORE ? `, before = ${BEFORE}` : ''}${PACK_REV ? `, pack = ${PACK_REV}` : ''}: ${DEVICES} devices, Mosquitto on port ${broker.port}, ${PUBLISHERS} publishers; ${expected.join('; ')}`,
  );
  const rounds: Array<Partial<Record<Side, SideResult>>> = [];
  let failed = false;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = SELECTED.map((_, i) => SELECTED[(i + round) % SELECTED.length]);
      if (round % 2 === 1) order.reverse();
      const results: Partial<Record<Side, SideResult>> = {};
      for (const side of order) {
        results[side] = await runSide(side, broker.port, phases, round);
        const full = (results[side] as SideResult).phases.full;
        console.log(
          `round ${round + 1} ${side.padEnd(8)} full rate ${fmt(full.msgsPerSecond)} msgs/s, ${fmt(full.cpuMicrosPerMessage, 1)} µs/msg; peak RSS ${fmt((results[side] as SideResult).peakRssMb)} MB`,
        );
      }
      rounds.push(results);
    }
    printPhase('full', rounds);
    printPhase('fixed', rounds);
    console.log(
      `\npeak RSS MB: ${SELECTED.map(
        (s) =>
          `${s} ${summary(
            rounds.map((r) => (r[s] as SideResult).peakRssMb),
            0,
          )}`,
      ).join(', ')}`,
    );
    if (PROFILE) console.log(`CPU profiles of the Node-RED processes: ${PROFILE_DIR}`);
  } catch (err) {
    failed = true;
    console.error(`bench:e2e FAILED: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    broker.stop();
  }
  process.exit(failed ? 1 : 0);
}

void main();
