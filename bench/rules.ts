// npm run bench:rules: 10,000 devices x 5 rules through m2m-rule in a running Node-RED (test helper), beside the
// same decisions made by core nodes in the same run: a function node keeping per-device state, and per rule a
// switch node followed by a filter (rbe) node. Heap bytes per device-rule state. Last, the engine alone beside
// the engine as it was before its split into files (bench/baseline), to show the split cost nothing. Then Rules 2.0:
// expression rules with 5-minute averages and a level rule on the same fleet, beside a function node making the same
// decisions (keeping its own 5-minute windows), and the bytes per device-rule with a 60-sample window.
import { fmt, gc, report } from './harness';
import { helper, type FlowNode, type NodeModule, type TestNode } from '../test/helpers/node-red';
import type { NodeMessage } from '../nodes/shared/node-red';
import { compileRules, RuleEngine, type RuleDefinition } from '../lib/rules';
import ruleNode from '../nodes/m2m-rule/m2m-rule';
import { RuleEngine as EngineBeforeSplit } from './baseline/engine-before-split';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const functionNode = require('@node-red/nodes/core/function/10-function.js') as NodeModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const switchNode = require('@node-red/nodes/core/function/10-switch.js') as NodeModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rbeNode = require('@node-red/nodes/core/function/rbe.js') as NodeModule;

const DEVICES = 10_000;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const ROUNDS = 5;
// Messages handed to the flow per macrotask; between batches the event loop turns, as with a broker feeding mqtt in.
const BATCH = 500;

const RULES: RuleDefinition[] = [
  { name: 'hot', metric: 'temp', severity: 'major', raise: { op: '>', value: 30 }, clear: { op: '<', value: 28 } },
  { name: 'humid', metric: 'hum', severity: 'minor', raise: { op: '>', value: 80 }, raiseSamples: 3 },
  { name: 'pressure', metric: 'pressure', severity: 'major', raise: { op: 'outside', value: 950, value2: 1050 } },
  { name: 'battery', metric: 'battery', severity: 'warning', raise: { op: '<', value: 20 } },
  { name: 'signal', metric: 'rssi', severity: 'warning', raise: { op: '<', value: -100 } },
];

// The same five decisions (hysteresis, 3 samples in a row, a range, two limits) on transitions only, as a user
// would write them in a function node.
const FUNCTION_CODE = `
let s = context.get('s');
if (!s) { s = {}; context.set('s', s); }
const p = msg.payload, id = msg.deviceId;
let st = s[id];
if (!st) st = s[id] = [0, 0, 0, 0, 0, 0];
const out = [];
const ev = (rule, event, value) => out.push({ topic: 'alarm/' + id + '/' + rule, deviceId: id, payload: { rule, event, value } });
if (!st[0] && p.temp > 30) { st[0] = 1; ev('hot', 'raised', p.temp); } else if (st[0] && p.temp < 28) { st[0] = 0; ev('hot', 'cleared', p.temp); }
if (p.hum > 80) { if (!st[1] && ++st[5] >= 3) { st[1] = 1; ev('humid', 'raised', p.hum); } } else { st[5] = 0; if (st[1]) { st[1] = 0; ev('humid', 'cleared', p.hum); } }
const po = p.pressure < 950 || p.pressure > 1050 ? 1 : 0; if (po !== st[2]) { st[2] = po; ev('pressure', po ? 'raised' : 'cleared', p.pressure); }
const b = p.battery < 20 ? 1 : 0; if (b !== st[3]) { st[3] = b; ev('battery', b ? 'raised' : 'cleared', p.battery); }
const r = p.rssi < -100 ? 1 : 0; if (r !== st[4]) { st[4] = r; ev('signal', r ? 'raised' : 'cleared', p.rssi); }
return out.length ? [out] : null;
`;

const SWITCH_RULES: Array<[string, Record<string, string>]> = [
  ['temp', { t: 'gt', v: '30', vt: 'num' }],
  ['hum', { t: 'gt', v: '80', vt: 'num' }],
  ['pressure', { t: 'btwn', v: '950', vt: 'num', v2: '1050', v2t: 'num' }],
  ['battery', { t: 'lt', v: '20', vt: 'num' }],
  ['rssi', { t: 'lt', v: '-100', vt: 'num' }],
];

function flow(): FlowNode[] {
  const nodes: FlowNode[] = [
    { id: 'f1', type: 'tab' },
    { id: 'rule', type: 'm2m-rule', z: 'f1', rules: RULES, outputs: 1, wires: [['sink-rule']] },
    { id: 'sink-rule', type: 'helper', z: 'f1' },
    { id: 'fn', type: 'function', z: 'f1', func: FUNCTION_CODE, outputs: 1, noerr: 0, initialize: '', finalize: '', libs: [], wires: [['sink-fn']] },
    { id: 'sink-fn', type: 'helper', z: 'f1' },
    { id: 'sink-sw', type: 'helper', z: 'f1' },
  ];
  // Per rule: a switch passing samples that break the limit (the pressure switch passes those inside the band, on
  // its "otherwise" output) and a filter (rbe) dropping repeats per device.
  SWITCH_RULES.forEach(([metric, rule], i) => {
    const rules = rule.t === 'btwn' ? [rule, { t: 'else' }] : [rule];
    const wires = rule.t === 'btwn' ? [[], [`rbe${i}`]] : [[`rbe${i}`]];
    nodes.push({
      id: `sw${i}`,
      type: 'switch',
      z: 'f1',
      property: `payload.${metric}`,
      propertyType: 'msg',
      rules,
      checkall: 'false',
      repair: false,
      outputs: rules.length,
      wires,
    });
    nodes.push({
      id: `rbe${i}`,
      type: 'rbe',
      z: 'f1',
      func: 'rbe',
      gap: '',
      start: '',
      inout: 'out',
      septopics: true,
      property: `payload.${metric}`,
      topi: 'deviceId',
      wires: [['sink-sw']],
    });
  });
  return nodes;
}

// Mostly normal readings with rare excursions, so that about 1 % of samples cross a limit.
function reading(i: number): Record<string, number> {
  const h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  const odd = h % 200 === 0;
  return {
    temp: odd ? 31 + (h % 5) : 20 + (h % 70) / 10,
    hum: odd ? 85 : 40 + (h % 30),
    pressure: odd ? 1060 : 990 + (h % 40),
    battery: odd ? 15 : 50 + (h % 50),
    rssi: odd ? -110 : -60 - (h % 30),
  };
}

const message = (i: number): NodeMessage => ({ deviceId: `dev-${i % DEVICES}`, payload: reading(i), topic: 'telemetry' });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function drive(count: number, send: (i: number) => void, finished: () => Promise<void>, offset: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i += BATCH) {
    const end = Math.min(count, i + BATCH);
    for (let j = i; j < end; j++) send(offset + j);
    await tick();
  }
  await finished();
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Resolves once every switch chain has passed its end marker (a unique value past every limit). */
function chainsDone(sink: TestNode, round: number): () => Promise<void> {
  let seen = 0;
  let wake: (() => void) | undefined;
  sink.on('input', (msg) => {
    if (msg.marker === round && ++seen === SWITCH_RULES.length) wake?.();
  });
  return () =>
    new Promise<void>((resolve) => {
      wake = resolve;
      if (seen === SWITCH_RULES.length) resolve();
    });
}

async function throughput(): Promise<void> {
  await helper.load([ruleNode as NodeModule, functionNode, switchNode, rbeNode], flow());
  // the same for every contender: every measured node's own copy of send too (the switch → filter chain's included)
  helper.removeRecordingSpies(['rule', 'fn', ...SWITCH_RULES.flatMap((_, i) => [`sw${i}`, `rbe${i}`])]);
  const rule = helper.getNode('rule');
  const fn = helper.getNode('fn');
  const switches = SWITCH_RULES.map((_, i) => helper.getNode(`sw${i}`));
  const settle = async (): Promise<void> => {
    await tick();
    await tick();
  };
  const results = { rule: [] as number[], fn: [] as number[], sw: [] as number[] };
  // warm-up: every device seen once by every contender
  await drive(DEVICES, (i) => rule.receive(message(i)), settle, 0);
  await drive(DEVICES, (i) => fn.receive(message(i)), settle, 0);
  const contenders: Array<(round: number, offset: number) => Promise<void>> = [
    async (_round, offset) => void results.rule.push(await drive(MESSAGES, (i) => rule.receive(message(i)), settle, offset)),
    async (_round, offset) => void results.fn.push(await drive(MESSAGES, (i) => fn.receive(message(i)), settle, offset)),
    async (round, offset) => {
      // the chain is slow: a tenth of the messages gives its rate in a few seconds
      const count = Math.max(DEVICES, MESSAGES / 10);
      const done = chainsDone(helper.getNode('sink-sw'), round);
      const last = offset + count - 1;
      const send = (i: number): void => {
        const msg = message(i);
        for (const sw of switches) sw.receive(msg);
        if (i === last) {
          const marker: NodeMessage = {
            deviceId: 'marker',
            marker: round,
            payload: { temp: 1000 + round, hum: 1000 + round, pressure: 2000 + round, battery: -1000 - round, rssi: -1000 - round },
          };
          for (const sw of switches) sw.receive(marker);
        }
      };
      results.sw.push(await drive(count, send, done, offset));
    },
  ];
  for (let round = 0; round < ROUNDS; round++) {
    // each round starts with a different contender, so none always runs on a heap the others filled
    for (let c = 0; c < contenders.length; c++) {
      gc();
      await contenders[(round + c) % contenders.length](round, (round * contenders.length + c + 1) * MESSAGES);
    }
  }
  const ours = median(results.rule);
  console.log(
    `throughput: ${fmt(MESSAGES)} telemetry messages x 5 rules, ${DEVICES} devices, batches of ${BATCH} per tick, median of ${ROUNDS} rounds (switch chain: a tenth of the messages)`,
  );
  report({ name: 'm2m-rule node (msgs/s)', value: ours, unit: 'msgs/s', baseline: median(results.fn), baselineName: 'function node' });
  report({ name: 'm2m-rule node (msgs/s)', value: ours, unit: 'msgs/s', baseline: median(results.sw), baselineName: '5 x switch -> filter' });
  await helper.unload();
}

/** JS heap plus ArrayBuffer backing stores (typed-array columns live there, outside heapUsed). */
function memoryInUse(): number {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

type EngineUnderTest = Pick<RuleEngine, 'process' | 'close'>;

/** Bytes the engine holds once every device sent one reading (its table, maps and ids' slots). */
function engineBytes(makeEngine: () => EngineUnderTest, ids: readonly string[]): number {
  const before = memoryInUse();
  const engine = makeEngine();
  for (let i = 0; i < DEVICES; i++) engine.process(ids[i], reading(i), {});
  const bytes = memoryInUse() - before;
  engine.close();
  return bytes;
}

async function memory(): Promise<void> {
  const rules = compileRules(RULES);
  const states = DEVICES * rules.length;
  // Ids are made before the first reading: the device id strings exist in any design, so they are not state.
  const ids = Array.from({ length: DEVICES }, (_, i) => `dev-${i}`);
  const split = (): EngineUnderTest => new RuleEngine({ rules });
  const beforeSplit = (): EngineUnderTest => new EngineBeforeSplit({ rules });
  // one fill's figure moves by a few bytes per state (code compiled on the way, heap pages counted whole), so each
  // engine fills 8 times, in alternating order, and the medians are compared
  const measured = { split: [] as number[], beforeSplit: [] as number[] };
  for (let round = 0; round < 8; round++) {
    const order = round % 2 === 0 ? (['split', 'beforeSplit'] as const) : (['beforeSplit', 'split'] as const);
    for (const which of order) measured[which].push(engineBytes(which === 'split' ? split : beforeSplit, ids));
  }
  const bytes = median(measured.split);
  const bytesBeforeSplit = median(measured.beforeSplit);

  // The same state as the function node keeps it: one small array per device in a plain object.
  const beforeFn = memoryInUse();
  const state: Record<string, number[]> = {};
  for (let i = 0; i < DEVICES; i++) state[ids[i]] = [0, 0, 0, 0, 0, 0];
  const afterFn = memoryInUse();
  const perFnState = (afterFn - beforeFn) / states;
  console.log(`memory: ${DEVICES} devices x ${rules.length} rules, heap + array buffers after a full collection`);
  report({
    name: 'heap per device-rule state (bytes)',
    value: bytes / states,
    unit: 'B',
    baseline: perFnState,
    baselineName: 'function-node state',
    higherIsBetter: false,
  });
  report({
    name: 'heap per device-rule state (bytes)',
    value: bytes / states,
    unit: 'B',
    baseline: bytesBeforeSplit / states,
    baselineName: 'engine before the split',
    higherIsBetter: false,
  });
  console.log(`  (engine state for ${DEVICES} devices: ${fmt(bytes / 1024)} KiB; aim < 200 B per device-rule)`);
  void state;
}

/** Samples per second of CPU time this process used: other processes sharing the cores do not count. */
function samplesPerCpuSecond(count: number, fn: (i: number) => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) fn(i);
  const used = process.cpuUsage(start);
  return count / ((used.user + used.system) / 1e6);
}

/** The split engine and the engine before the split, fed the same samples in alternating turns, in one process. */
function engineBeforeAndAfterSplit(): void {
  const rules = compileRules(RULES);
  // many short turns in alternation, so that a slow spell of the machine falls on both engines alike
  const count = MESSAGES / 2;
  const turns = 40;
  const ids = Array.from({ length: DEVICES }, (_, i) => `dev-${i}`);
  const samples = Array.from({ length: count }, (_, i) => reading(i));
  const engines: Record<'split' | 'before', EngineUnderTest> = { split: new RuleEngine({ rules }), before: new EngineBeforeSplit({ rules }) };
  const msg = {};
  const run = (engine: EngineUnderTest, turn: number): number => samplesPerCpuSecond(count, (i) => engine.process(ids[(turn + i) % DEVICES], samples[i], msg));
  const results = { split: [] as number[], before: [] as number[] };
  for (let turn = 0; turn < turns; turn++) {
    const order = turn % 2 === 0 ? (['split', 'before'] as const) : (['before', 'split'] as const);
    for (const which of order) results[which].push(run(engines[which], turn));
  }
  // the first turns warm both engines up
  const settled = (values: number[]): number => median(values.slice(4));
  console.log(`engine alone: ${fmt(count)} samples x 5 rules per turn, ${DEVICES} devices, median of ${turns - 4} turns in alternating order, per CPU second`);
  report({
    name: 'RuleEngine.process, split (samples/s)',
    value: settled(results.split),
    unit: 'samples/s',
    baseline: settled(results.before),
    baselineName: 'before the split',
  });
  engines.split.close();
  engines.before.close();
}

// Rules 2.0: three 5-minute averages (one shared by two rules), a condition over two metrics, a deviation from the
// average, and severity levels with hysteresis.
const EXPR_RULES: RuleDefinition[] = [
  { name: 'hot-avg', condition: 'expression', metric: '', severity: 'major', raise: { expr: 'avg(temp, 5m) > 30' }, clear: { expr: 'avg(temp, 5m) < 28' } },
  { name: 'humid-warm', condition: 'expression', metric: '', severity: 'minor', raise: { expr: 'hum > 80 and temp > 25' } },
  { name: 'pressure-jump', condition: 'expression', metric: '', severity: 'major', raise: { expr: 'abs(pressure - avg(pressure, 5m)) > 30' } },
  {
    name: 'battery',
    metric: 'battery',
    severity: 'warning',
    raise: {},
    levelDirection: 'below',
    levels: [
      { severity: 'warning', value: 30 },
      { severity: 'major', value: 20 },
      { severity: 'critical', value: 10 },
    ],
    hysteresis: 2,
  },
  { name: 'signal-avg', condition: 'expression', metric: '', severity: 'warning', raise: { expr: 'avg(rssi, 5m) < -100' } },
];

// The same decisions in a function node, written with care: per device a queue of (time, value) per averaged
// metric with a running sum, samples older than 5 minutes dropped from the front.
const FUNCTION_EXPR_CODE = `
let s = context.get('s');
if (!s) { s = new Map(); context.set('s', s); }
const p = msg.payload, id = msg.deviceId, now = Date.now();
let st = s.get(id);
if (!st) { st = { a: [0, 0, 0, 0, 0], w: { temp: { q: [], h: 0, sum: 0 }, pressure: { q: [], h: 0, sum: 0 }, rssi: { q: [], h: 0, sum: 0 } } }; s.set(id, st); }
const avg = (name, v) => {
  const w = st.w[name];
  w.q.push(now, v); w.sum += v;
  while (w.q[w.h] < now - 300000) { w.sum -= w.q[w.h + 1]; w.h += 2; }
  if (w.h > 64) { w.q = w.q.slice(w.h); w.h = 0; }
  return w.sum / ((w.q.length - w.h) / 2);
};
const out = [];
const ev = (rule, event, value) => out.push({ topic: 'alarm/' + id + '/' + rule, deviceId: id, payload: { rule, event, value } });
const a = st.a;
const t = avg('temp', p.temp);
if (!a[0] && t > 30) { a[0] = 1; ev('hot-avg', 'raised', t); } else if (a[0] && t < 28) { a[0] = 0; ev('hot-avg', 'cleared', t); }
const hw = p.hum > 80 && p.temp > 25 ? 1 : 0; if (hw !== a[1]) { a[1] = hw; ev('humid-warm', hw ? 'raised' : 'cleared', p.hum); }
const pj = Math.abs(p.pressure - avg('pressure', p.pressure)) > 30 ? 1 : 0; if (pj !== a[2]) { a[2] = pj; ev('pressure-jump', pj ? 'raised' : 'cleared', p.pressure); }
const b = p.battery, limits = [30, 20, 10];
let reach = 0, hold = 0;
for (let i = 0; i < 3; i++) { if (b < limits[i]) reach = i + 1; if (i < a[3] && b < limits[i] + 2) hold = i + 1; }
const lv = Math.max(reach, hold);
if (lv !== a[3]) { ev('battery', a[3] === 0 ? 'raised' : lv === 0 ? 'cleared' : lv > a[3] ? 'escalated' : 'deescalated', b); a[3] = lv; }
const r = avg('rssi', p.rssi) < -100 ? 1 : 0; if (r !== a[4]) { a[4] = r; ev('signal-avg', r ? 'raised' : 'cleared', p.rssi); }
return out.length ? [out] : null;
`;

/** Expression rules with 5-minute averages in m2m-rule beside a function node, recording spies off on both. */
async function expressionThroughput(): Promise<void> {
  const nodes: FlowNode[] = [
    { id: 'f2', type: 'tab' },
    { id: 'xrule', type: 'm2m-rule', z: 'f2', rules: EXPR_RULES, outputs: 1, wires: [['xsink-rule']] },
    { id: 'xsink-rule', type: 'helper', z: 'f2' },
    { id: 'xfn', type: 'function', z: 'f2', func: FUNCTION_EXPR_CODE, outputs: 1, noerr: 0, initialize: '', finalize: '', libs: [], wires: [['xsink-fn']] },
    { id: 'xsink-fn', type: 'helper', z: 'f2' },
  ];
  await helper.load([ruleNode as NodeModule, functionNode], nodes);
  helper.removeRecordingSpies(['xrule', 'xfn']);
  const rule = helper.getNode('xrule');
  const fn = helper.getNode('xfn');
  const decisions = { rule: 0, fn: 0 };
  helper.getNode('xsink-rule').on('input', () => void decisions.rule++);
  helper.getNode('xsink-fn').on('input', () => void decisions.fn++);
  const settle = async (): Promise<void> => {
    await tick();
    await tick();
  };
  await drive(DEVICES, (i) => rule.receive(message(i)), settle, 0);
  await drive(DEVICES, (i) => fn.receive(message(i)), settle, 0);
  const results = { rule: [] as number[], fn: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    const offset = (round + 1) * MESSAGES;
    const order = round % 2 === 0 ? (['rule', 'fn'] as const) : (['fn', 'rule'] as const);
    for (const which of order) {
      gc();
      const node = which === 'rule' ? rule : fn;
      results[which].push(await drive(MESSAGES, (i) => node.receive(message(i)), settle, offset));
    }
  }
  console.log(
    `expression rules: ${fmt(MESSAGES)} telemetry messages x 5 rules (3 five-minute averages, 1 level rule), ${DEVICES} devices, median of ${ROUNDS} rounds; alarm events: m2m-rule ${decisions.rule}, function node ${decisions.fn}`,
  );
  report({
    name: 'm2m-rule expressions (msgs/s)',
    value: median(results.rule),
    unit: 'msgs/s',
    baseline: median(results.fn),
    baselineName: 'function node, same decisions',
  });
  await helper.unload();
}

/** Bytes per device-rule of expression rules: each of 5 rules averages its own metric over 60 samples or 5 minutes. */
function expressionMemory(): void {
  const metrics = ['temp', 'hum', 'pressure', 'battery', 'rssi'];
  const ids = Array.from({ length: DEVICES }, (_, i) => `dev-${i}`);
  for (const [label, window] of [
    ['a 60-sample window', '60 samples'],
    ['a 5-minute window', '5m'],
  ] as const) {
    const rules = compileRules(
      metrics.map(
        (m, i) => ({ name: `r${i}`, condition: 'expression', metric: '', severity: 'major', raise: { expr: `avg(${m}, ${window}) > 1000` } }) as RuleDefinition,
      ),
    );
    const measured: number[] = [];
    for (let round = 0; round < 4; round++) measured.push(engineBytes(() => new RuleEngine({ rules }), ids));
    const perState = median(measured) / (DEVICES * rules.length);
    const threshold = compileRules(RULES);
    const plain: number[] = [];
    for (let round = 0; round < 4; round++) plain.push(engineBytes(() => new RuleEngine({ rules: threshold }), ids));
    report({
      name: `heap per device-rule, avg over ${label} (bytes)`,
      value: perState,
      unit: 'B',
      baseline: median(plain) / (DEVICES * threshold.length),
      baselineName: 'threshold rule',
      higherIsBetter: false,
    });
  }
}

(async () => {
  // BENCH_PART=expressions runs only the Rules 2.0 figures
  const all = process.env.BENCH_PART !== 'expressions';
  // memory first, on a quiet heap: a flow just unloaded may still be releasing hundreds of MB between two readings
  if (all) await memory();
  expressionMemory();
  if (all) await throughput();
  if (all) engineBeforeAndAfterSplit();
  await expressionThroughput();
  process.exit(0);
})().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
