// npm run bench:hostile — the worst event-loop stall each node causes with its default limits, for the
// pathological inputs of test/hostile, beside JSON.parse of the same bytes timed the same way in the same run.
// A stall is the time from handing the message to the node until the event loop turns (setImmediate): the
// synchronous handler and every promise step queued behind it, Node-RED's copies for the Catch node included.
// Printed as wall time (worst and median of RUNS) and as the CPU time of this process over the same span
// (median): on a shared machine wall time also counts being descheduled, so ratios use the CPU time.
// The event-loop monitor's longest delay until the message reached the Catch or Complete node is shown too.
import { monitorEventLoopDelay, performance } from 'perf_hooks';
import { DEFAULT_LIMITS } from '../lib/telemetry';
import type { NodeMessage } from '../nodes/shared/node-red';
import commandNode from '../nodes/m2m-command/m2m-command';
import deviceNode from '../nodes/m2m-device/m2m-device';
import registryNode from '../nodes/m2m-registry/m2m-registry';
import ruleNode from '../nodes/m2m-rule/m2m-rule';
import simulatorNode from '../nodes/m2m-simulator/m2m-simulator';
import telemetryNode from '../nodes/m2m-telemetry/m2m-telemetry';
import { catchNode, helper, type FlowNode, type NodeModule } from '../test/helpers/node-red';
import { sharedTree } from '../test/hostile/cases';
import { deepArrayJson, deepJson, deepObject, sharedCbor, sharedCborTree, sparkplugDeepTemplates, TEN_MB } from '../test/hostile/payloads';
import { fmt, gc } from './harness';

const RUNS = Number(process.env.RUNS) || 3;
const AIM_MS = 50;
const CAP = DEFAULT_LIMITS.maxBytes;

interface Input {
  name: string;
  /** The bytes as they arrive (JSON text, or CBOR/protobuf/text read as latin1): what the baseline parses. */
  bytes: () => string;
  /** msg.payload (or the whole message, via `message`). */
  payload: () => unknown;
  /** Targets this input is meant for; all when left out. */
  only?: readonly string[];
}

interface Target {
  id: string;
  node: { type: string; [key: string]: unknown };
  /** The message around a payload. */
  message: (payload: unknown) => NodeMessage;
}

const asText = (b: Buffer): string => b.toString('latin1');
const ONE_PER_NODE = ['device-register', 'tel-json', 'tel-senml-cbor', 'rule', 'command-reply', 'simulator'];
const INPUTS: Input[] = [
  { name: 'object nested 3,000 deep', bytes: () => deepJson(), payload: () => deepObject() },
  { name: 'JSON text nested 3,000 deep', bytes: () => deepJson(), payload: () => deepJson() },
  { name: 'JSON text of arrays 3,000 deep', bytes: () => deepArrayJson(), payload: () => deepArrayJson() },
  { name: '40 shared arrays (2^40 paths)', bytes: () => asText(sharedCborTree(40)), payload: () => sharedTree(40) },
  { name: 'array of 20,000 numbers', bytes: () => JSON.stringify(new Array(20_000).fill(1.5)), payload: () => new Array(20_000).fill(1.5) },
  { name: 'object of 20,000 keys', bytes: () => JSON.stringify(keys(20_000)), payload: () => keys(20_000) },
  { name: 'JSON text of 20,000 keys', bytes: () => JSON.stringify(keys(20_000)), payload: () => JSON.stringify(keys(20_000)) },
  {
    name: 'SenML-CBOR: 1 map shared 10,000 times',
    bytes: () => asText(sharedCbor(10_000, 200)),
    payload: () => sharedCbor(10_000, 200),
    only: ['tel-senml-cbor', 'tel-senml-auto'],
  },
  {
    name: 'SenML-CBOR: 40 shared arrays',
    bytes: () => asText(sharedCborTree(40)),
    payload: () => sharedCborTree(40),
    only: ['tel-senml-cbor', 'tel-senml-auto'],
  },
  { name: 'kv: 25,000 pairs', bytes: () => pairs(25_000), payload: () => pairs(25_000), only: ['tel-kv'] },
  { name: 'Sparkplug templates 3,000 deep', bytes: () => asText(sparkplugDeepTemplates()), payload: () => sparkplugDeepTemplates(), only: ['tel-sparkplug'] },
  { name: 'string of 250 KB', bytes: () => JSON.stringify('x'.repeat(250_000)), payload: () => 'x'.repeat(250_000) },
  { name: 'string of 10 MB (over the cap)', bytes: () => JSON.stringify(tenMb()), payload: tenMb, only: ONE_PER_NODE },
  {
    name: 'array of 1,000,000 numbers (over the cap)',
    bytes: () => JSON.stringify(new Array(1_000_000).fill(1)),
    payload: () => new Array(1_000_000).fill(1),
    only: ONE_PER_NODE,
  },
];

let tenMbString: string | undefined;
function tenMb(): string {
  return (tenMbString ??= 'x'.repeat(TEN_MB));
}
function keys(n: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
}
function pairs(n: number): string {
  return Array.from({ length: n }, (_, i) => `k${i}=${i}`).join(',');
}

const byMsg = (payload: unknown): NodeMessage => ({ deviceId: 'bench', payload });
const TELEMETRY: Array<[string, Record<string, unknown>, (payload: unknown) => NodeMessage]> = [
  ['json', { format: 'json', deviceIdFrom: 'msg' }, byMsg],
  ['senml-json', { format: 'senml', senmlEncoding: 'json' }, byMsg],
  ['senml-cbor', { format: 'senml', senmlEncoding: 'cbor' }, byMsg],
  ['senml-auto', { format: 'senml' }, byMsg],
  ['lpp', { format: 'lpp', deviceIdFrom: 'msg' }, byMsg],
  ['binary', { format: 'binary', deviceIdFrom: 'msg', binarySpec: '[{"name":"t","type":"uint16","byteOffset":0}]' }, byMsg],
  ['kv', { format: 'kv', deviceIdFrom: 'msg' }, byMsg],
  ['sparkplug', { format: 'sparkplug' }, (payload) => ({ topic: 'spBv1.0/plant/NBIRTH/edge-1', payload })],
  [
    'ttn',
    { format: 'ttn' },
    (payload) => ({
      payload: typeof payload === 'string' ? payload : { end_device_ids: { device_id: 'bench' }, uplink_message: { decoded_payload: payload } },
    }),
  ],
  [
    'chirpstack',
    { format: 'chirpstack' },
    (payload) => ({ payload: typeof payload === 'string' ? payload : { deviceInfo: { devEui: '0011223344556677' }, object: payload } }),
  ],
];

const TARGETS: Target[] = [
  {
    id: 'device-register',
    node: { type: 'm2m-device', registry: 'reg', operation: 'register' },
    message: (payload) => ({ payload: { id: `d${Math.random().toString(36).slice(2)}`, type: 'sensor', attributes: { x: payload } } }),
  },
  { id: 'device-list', node: { type: 'm2m-device', registry: 'reg', operation: 'list' }, message: (payload) => ({ payload }) },
  ...TELEMETRY.map(([name, config, message]): Target => ({ id: `tel-${name}`, node: { type: 'm2m-telemetry', ...config }, message })),
  { id: 'rule', node: { type: 'm2m-rule', rules: [{ name: 'hot', metric: 'temp', severity: 'major', raise: { op: '>', value: 30 } }] }, message: byMsg },
  {
    id: 'rule-control',
    node: { type: 'm2m-rule', rules: [{ name: 'hot', metric: 'temp', severity: 'major', raise: { op: '>', value: 30 } }] },
    message: (payload) => ({ topic: 'shelve', deviceId: 'bench', rule: payload, duration: 60 }),
  },
  { id: 'command', node: { type: 'm2m-command', timeout: 3600 }, message: (payload) => ({ deviceId: 'bench', command: 'set', payload }) },
  { id: 'command-reply', node: { type: 'm2m-command', timeout: 3600 }, message: (payload) => ({ topic: 'devices/bench/replies', payload }) },
  {
    id: 'simulator',
    node: { type: 'm2m-simulator', devices: 3, interval: 0, latency: 0, seed: '1' },
    message: (payload) => ({ topic: 'devices/sim-1/commands/set', payload }),
  },
];

function flow(): FlowNode[] {
  const nodes: FlowNode[] = [
    { id: 'f1', type: 'tab' },
    { id: 'reg', type: 'm2m-registry', name: 'bench-hostile', storeType: 'memory', offlineTimeout: 60, deviceTypes: '[{"name":"sensor"}]' },
    { id: 'sink', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    // a Complete node without a scope hears no node; a Catch node without one hears them all
    { id: 'completer', type: 'complete', z: 'f1', scope: TARGETS.map((t) => t.id), uncaught: false, wires: [['completed']] },
    { id: 'completed', type: 'helper', z: 'f1' },
  ];
  for (const t of TARGETS) nodes.push({ ...t.node, id: t.id, z: 'f1', wires: [['sink'], ['sink']] });
  return nodes;
}

const settled = new Map<string, string>();
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function waitSettled(id: string): Promise<string> {
  const started = Date.now();
  while (!settled.has(id)) {
    if (Date.now() - started > 10_000) return 'no outcome in 10 s';
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return settled.get(id) as string;
}

interface Stall {
  wallMs: number;
  cpuMs: number;
}

/** Wall and CPU time from `start` until the event loop turns. */
async function stallOf(start: () => void): Promise<Stall> {
  gc();
  const cpu = process.cpuUsage();
  const started = performance.now();
  start();
  await turn();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

let serial = 0;
/** The stall of one message through the node, the loop monitor's worst delay until it settled, and how it ended. */
async function nodeStall(target: Target, payload: unknown): Promise<Stall & { loopMs: number; outcome: string }> {
  const msg = target.message(payload);
  const id = `bench-${++serial}`;
  msg._msgid = id;
  loopDelay.reset();
  const stall = await stallOf(() => helper.getNode(target.id).receive(msg));
  const outcome = await waitSettled(id);
  return { ...stall, loopMs: loopDelay.max / 1e6, outcome };
}

function parseStall(bytes: string): Promise<Stall> {
  return stallOf(() => {
    try {
      JSON.parse(bytes);
    } catch {
      // CBOR or protobuf bytes are not JSON: the baseline is the parser reading that many bytes
    }
  });
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  await helper.load([registryNode, deviceNode, telemetryNode, ruleNode, commandNode, simulatorNode, catchNode] as NodeModule[], flow());
  helper.removeRecordingSpies();
  helper.getNode('caught').on('input', (m) => settled.set(String(m._msgid), String((m.error as { code?: unknown }).code ?? 'no code')));
  helper.getNode('completed').on('input', (m) => settled.set(String(m._msgid), 'ok'));
  loopDelay.enable();

  console.log(
    `${RUNS} runs each, in ms; size cap ${fmt(CAP)} bytes. wall: worst / median; cpu: median, beside JSON.parse of the same bytes; loop: longest event-loop delay until the Catch/Complete node`,
  );
  console.log(
    `${'node'.padEnd(16)} ${'input'.padEnd(42)} ${'bytes'.padStart(10)} ${'wall'.padStart(7)} ${'median'.padStart(7)} ${'cpu'.padStart(7)} ${'JSON.parse'.padStart(10)} ${'ratio'.padStart(7)} ${'loop'.padStart(6)}  outcome`,
  );
  const worst = new Map<string, { cpuMs: number; wallMs: number; input: string }>();
  for (const input of INPUTS) {
    const bytes = input.bytes();
    const size = Buffer.byteLength(bytes, 'latin1');
    const baseline: number[] = [];
    for (let r = 0; r < RUNS; r++) baseline.push((await parseStall(bytes)).cpuMs);
    const baselineMs = median(baseline);
    for (const target of TARGETS) {
      if (input.only && !input.only.includes(target.id)) continue;
      const runs: Array<Stall & { loopMs: number; outcome: string }> = [];
      for (let r = 0; r < RUNS; r++) runs.push(await nodeStall(target, input.payload()));
      const wall = runs.map((x) => x.wallMs);
      const cpuMs = median(runs.map((x) => x.cpuMs));
      const wallMs = Math.max(...wall);
      const loopMs = Math.max(...runs.map((x) => x.loopMs));
      const underCap = size <= CAP;
      if (underCap && cpuMs > (worst.get(target.id)?.cpuMs ?? -1)) worst.set(target.id, { cpuMs, wallMs, input: input.name });
      const flag = underCap && cpuMs > AIM_MS ? `  over ${AIM_MS} ms` : '';
      console.log(
        `${target.id.padEnd(16)} ${input.name.padEnd(42)} ${fmt(size).padStart(10)} ${fmt(wallMs, 1).padStart(7)} ${fmt(median(wall), 1).padStart(7)} ${fmt(cpuMs, 1).padStart(7)} ${fmt(baselineMs, 1).padStart(10)} ${`${(cpuMs / Math.max(baselineMs, 0.05)).toFixed(1)}x`.padStart(7)} ${fmt(loopMs, 0).padStart(6)}  ${runs[runs.length - 1].outcome}${flag}`,
      );
    }
  }
  console.log(`\nworst input per node under the ${fmt(CAP)} byte cap, by median CPU time (aim: under ${AIM_MS} ms)`);
  for (const [id, { cpuMs, wallMs, input }] of worst)
    console.log(`${id.padEnd(16)} cpu ${fmt(cpuMs, 1).padStart(7)} ms  wall worst ${fmt(wallMs, 1).padStart(7)} ms  ${input}${cpuMs > AIM_MS ? '  OVER' : ''}`);
  loopDelay.disable();
  await helper.unload();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
