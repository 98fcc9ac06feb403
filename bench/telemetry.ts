// npm run bench:telemetry — every format through the bare codec (records/s) and through the node in a
// running flow (msgs/s), beside two baselines measured in the same run: JSON.parse alone (the floor) and a
// core function node doing JSON.parse plus picking fields (what a user writes today).
import { decode as cborxDecode, encode as cborEncode } from 'cbor-x';
import { get } from 'sparkplug-payload';
import {
  compileFrame,
  compileJsonOptions,
  decodeBinary,
  decodeKv,
  decodeLpp,
  decodeSenml,
  DEFAULT_LIMITS,
  parseSenmlCbor,
  TelemetryDecoder,
  type BinaryFieldSpec,
  type TelemetryDecoderConfig,
} from '../lib/telemetry';
import { decodeJson } from '../lib/telemetry/json';
import { compilePath } from '../lib/telemetry/path';
import { helper, type FlowNode, type NodeModule } from '../test/helpers/node-red';
import type { NodeMessage } from '../nodes/shared/node-red';
import telemetryNode from '../nodes/m2m-telemetry/m2m-telemetry';
import { fmt, gc, opsPerSecond, report } from './harness';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const functionNode = require('@node-red/nodes/core/function/10-function.js') as NodeModule;

const CODEC_RUNS = 300_000;
const NODE_MSGS = 60_000;
const NOW = 1_700_000_000_000;
const sparkplug = get('spBv1.0') as NonNullable<ReturnType<typeof get>>;

// --- samples: one realistic payload per format ---
const JSON_TEXT = '{"id":"boiler-1","ts":1700000000000,"temp":61.5,"pressure":1.82,"flow":12.25,"on":true}';
const SENML_TEXT = JSON.stringify([
  { bn: 'urn:dev:ow:10e2073a0108006:', bt: 1.276020076001e9, bu: 'A', bver: 5, n: 'voltage', u: 'V', v: 120.1 },
  { n: 'current', t: -5, v: 1.2 },
  { n: 'current', t: -4, v: 1.3 },
  { n: 'current', t: -3, v: 1.4 },
  { n: 'current', t: -2, v: 1.5 },
  { n: 'current', t: -1, v: 1.6 },
  { n: 'current', v: 1.7 },
]);
const SENML_RECORDS = 7;
const SENML_CBOR = Buffer.from(
  cborEncode(
    (JSON.parse(SENML_TEXT) as Record<string, unknown>[]).map(
      (r) => new Map(Object.entries(r).map(([k, v]) => [({ bver: -1, bn: -2, bt: -3, bu: -4, n: 0, u: 1, v: 2, t: 6 } as Record<string, number>)[k], v])),
    ),
  ),
);
const LPP_FRAME = Buffer.from('03670110056700FF0671 04D2FB2E0000 01 88 06765F F2960A 0003E8'.replace(/\s/g, ''), 'hex');
const LPP_ENTRIES = 4;
const BINARY_SPEC: BinaryFieldSpec[] = [
  { name: 'temperature', type: 'int16', byteOffset: 0, scale: 0.01, unit: 'Cel' },
  { name: 'humidity', type: 'uint8', byteOffset: 2, scale: 0.5, unit: '%RH' },
  { name: 'pressure', type: 'uint32', byteOffset: 3, scale: 0.01, endian: 'little' },
  { name: 'battery', type: 'uint16', byteOffset: 7, scale: 0.001 },
  { name: 'door', type: 'bits', byteOffset: 9, bitOffset: 0, bitLength: 1 },
];
const BINARY_FRAME = Buffer.from('fb2e5145bc0100100e01', 'hex');
const KV_TEXT = 't=21.5,h=40,p=1013.2,door=false';
const SPARKPLUG_BIRTH = Buffer.from(
  sparkplug.encodePayload({
    seq: 0,
    timestamp: NOW,
    metrics: [
      { name: 'temp', alias: 1, type: 'Double', value: 20 },
      { name: 'rpm', alias: 2, type: 'Int32', value: 1500 },
      { name: 'on', alias: 3, type: 'Boolean', value: true },
    ],
  }),
);
const sparkplugData = (seq: number): Buffer =>
  Buffer.from(
    sparkplug.encodePayload({
      seq,
      timestamp: NOW,
      metrics: [
        { alias: 1, type: 'Double', value: 21.5 },
        { alias: 2, type: 'Int32', value: 1490 },
        { alias: 3, type: 'Boolean', value: false },
      ] as never,
    }),
  );
const SPARKPLUG_DATA = Array.from({ length: 256 }, (_, seq) => sparkplugData(seq));
const TTN_TEXT = JSON.stringify({
  end_device_ids: { device_id: 'dev1' },
  received_at: '2020-02-12T15:15:46.014773143Z',
  uplink_message: { f_cnt: 1, frm_payload: 'gkHe', decoded_payload: { temperature: 1.0, luminosity: 0.64 } },
});
const CHIRPSTACK_TEXT = JSON.stringify({
  time: '2022-07-18T09:34:15.775023242+00:00',
  deviceInfo: { devEui: '0101010101010101', deviceName: 'Test device' },
  fPort: 1,
  data: 'qg==',
  object: { temperature: 21.5, humidity: 40 },
});

interface FormatCase {
  format: string;
  config: TelemetryDecoderConfig;
  /** Records in one payload (SenML records, LPP entries, metrics, frames). */
  records: number;
  recordName: string;
  /** The bare codec: parsing plus decoding, no device id or node work. */
  codec: (i: number) => unknown;
  message: (i: number) => NodeMessage;
  /** Telemetry messages the node sends per input (a SenML pack at six times sends six). */
  outputs?: number;
}

const jsonOptions = compileJsonOptions({
  mapping: ['temp', 'pressure', 'flow', 'on'].map((m) => ({ metric: m, path: compilePath(m, m) })),
  timestampPath: compilePath('ts', 'ts'),
  idPath: compilePath('id', 'id'),
});
const frame = compileFrame(BINARY_SPEC);
const sparkplugDecoder = new TelemetryDecoder({ format: 'sparkplug' });
sparkplugDecoder.decode({ topic: 'spBv1.0/g/NBIRTH/n1', payload: SPARKPLUG_BIRTH, now: NOW });

const ttnDecoder = new TelemetryDecoder({ format: 'ttn' });
const chirpstackDecoder = new TelemetryDecoder({ format: 'chirpstack' });

const CASES: FormatCase[] = [
  {
    format: 'json',
    config: {
      format: 'json',
      mapping: ['temp', 'pressure', 'flow', 'on'].map((m) => ({ metric: m, path: m })),
      timestampPath: 'ts',
      deviceIdFrom: 'path',
      deviceIdPath: 'id',
    },
    records: 1,
    recordName: 'objects',
    codec: () => decodeJson(JSON.parse(JSON_TEXT), NOW, DEFAULT_LIMITS, jsonOptions),
    message: () => ({ payload: JSON_TEXT }),
  },
  {
    format: 'senml',
    config: { format: 'senml' },
    records: SENML_RECORDS,
    recordName: 'SenML records (JSON)',
    codec: () => decodeSenml(JSON.parse(SENML_TEXT), NOW, DEFAULT_LIMITS, { deviceIdConfigured: false }),
    message: () => ({ payload: SENML_TEXT }),
    outputs: 6,
  },
  {
    format: 'senml-cbor',
    config: { format: 'senml' },
    records: SENML_RECORDS,
    recordName: 'SenML records (CBOR)',
    codec: () => decodeSenml(parseSenmlCbor(SENML_CBOR), NOW, DEFAULT_LIMITS, { deviceIdConfigured: false }),
    message: () => ({ payload: SENML_CBOR }),
    outputs: 6,
  },
  {
    format: 'lpp',
    config: { format: 'lpp', deviceIdFrom: 'fixed', fixedDeviceId: 'lpp-1' },
    records: LPP_ENTRIES,
    recordName: 'LPP entries',
    codec: () => decodeLpp(LPP_FRAME, NOW, DEFAULT_LIMITS),
    message: () => ({ payload: LPP_FRAME }),
  },
  {
    format: 'binary',
    config: { format: 'binary', deviceIdFrom: 'fixed', fixedDeviceId: 'bin-1', binarySpec: BINARY_SPEC },
    records: 1,
    recordName: 'frames (5 fields)',
    codec: () => decodeBinary(BINARY_FRAME, NOW, frame),
    message: () => ({ payload: BINARY_FRAME }),
  },
  {
    format: 'kv',
    config: { format: 'kv', deviceIdFrom: 'fixed', fixedDeviceId: 'kv-1' },
    records: 1,
    recordName: 'lines (4 pairs)',
    codec: () => decodeKv(KV_TEXT, NOW, DEFAULT_LIMITS, { mode: 'auto' }),
    message: () => ({ payload: KV_TEXT }),
  },
  {
    format: 'sparkplug',
    config: { format: 'sparkplug' },
    records: 3,
    recordName: 'metrics (NDATA, aliases)',
    codec: (i) => sparkplugDecoder.decode({ topic: 'spBv1.0/g/NDATA/n1', payload: SPARKPLUG_DATA[(i + 1) % 256], now: NOW }),
    message: (i) => ({ topic: i === 0 ? 'spBv1.0/g/NBIRTH/n1' : 'spBv1.0/g/NDATA/n1', payload: i === 0 ? SPARKPLUG_BIRTH : SPARKPLUG_DATA[i % 256] }),
  },
  {
    format: 'ttn',
    config: { format: 'ttn' },
    records: 1,
    recordName: 'uplinks',
    codec: () => ttnDecoder.decode({ payload: TTN_TEXT, now: NOW }),
    message: () => ({ payload: TTN_TEXT }),
  },
  {
    format: 'chirpstack',
    config: { format: 'chirpstack' },
    records: 1,
    recordName: 'uplinks',
    codec: () => chirpstackDecoder.decode({ payload: CHIRPSTACK_TEXT, now: NOW }),
    message: () => ({ payload: CHIRPSTACK_TEXT }),
  },
];
function codecBench(): void {
  console.log(`\n== bare codec, ${fmt(CODEC_RUNS)} payloads each (records/s) ==`);
  const parseOnly = best(() => opsPerSecond(CODEC_RUNS, () => JSON.parse(JSON_TEXT)));
  report({ name: 'baseline: JSON.parse alone (payloads/s)', value: parseOnly, unit: '/s' });
  for (const c of CASES) {
    c.codec(0);
    const payloads = best(() => opsPerSecond(CODEC_RUNS, c.codec));
    report({
      name: `${c.format} codec: ${c.recordName}`,
      value: payloads * c.records,
      unit: 'records/s',
      baseline: parseOnly,
      baselineName: 'JSON.parse payloads',
    });
  }
  // Our SenML-CBOR reader beside cbor-x (the decoder it replaced; now only a dev dependency) on the same bytes.
  const cborx = best(() => opsPerSecond(CODEC_RUNS, () => cborxDecode(SENML_CBOR)));
  const ours = best(() => opsPerSecond(CODEC_RUNS, () => parseSenmlCbor(SENML_CBOR)));
  report({ name: 'SenML-CBOR pack: our reader (packs/s)', value: ours, unit: '/s', baseline: cborx, baselineName: 'cbor-x decode alone' });
}

function best(run: () => number, times = 3): number {
  let top = 0;
  for (let i = 0; i < times; i++) {
    gc();
    top = Math.max(top, run());
  }
  return top;
}

/** Pushes `count` messages into `entry` in bursts and resolves with msgs/s counted at the sink. */
async function flowRate(flow: FlowNode[], modules: NodeModule[], message: (i: number) => NodeMessage, count: number, outputs = 1): Promise<number> {
  await helper.load(modules, flow);
  helper.removeRecordingSpies(['entry']); // for the baseline and the node alike
  const entry = helper.getNode('entry');
  const sink = helper.getNode('sink');
  const caught = helper.getNode('caught');
  let received = 0;
  let errors = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const expected = count * outputs;
  sink.on('input', () => {
    if (++received + errors === expected) finish();
  });
  caught.on('input', () => {
    if (received + ++errors === expected) finish();
  });
  gc();
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i += 500) {
    for (let k = i; k < Math.min(count, i + 500); k++) entry.receive(message(k));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await done;
  const rate = count / (Number(process.hrtime.bigint() - start) / 1e9);
  await helper.unload();
  if (errors > 0) throw new Error(`${errors} messages failed in the benchmark flow`);
  return rate;
}

const tail = (): FlowNode[] => [
  { id: 'sink', type: 'helper', z: 'f1' },
  { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper', z: 'f1' },
  { id: 'f1', type: 'tab' },
];

async function nodeBench(): Promise<void> {
  console.log(`\n== in a running flow, ${fmt(NODE_MSGS)} messages each (msgs/s) ==`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const catchNode = require('@node-red/nodes/core/common/25-catch.js') as NodeModule;
  const modules = [telemetryNode as NodeModule, functionNode, catchNode];
  const functionFlow = [
    {
      id: 'entry',
      type: 'function',
      z: 'f1',
      func: 'const p = JSON.parse(msg.payload);\nmsg.deviceId = p.id;\nmsg.timestamp = p.ts;\nmsg.payload = { temp: p.temp, pressure: p.pressure, flow: p.flow, on: p.on };\nreturn msg;',
      outputs: 1,
      wires: [['sink']],
    },
    ...tail(),
  ];
  const functionRate = Math.max(
    await flowRate(functionFlow, modules, () => ({ payload: JSON_TEXT }), NODE_MSGS),
    await flowRate(functionFlow, modules, () => ({ payload: JSON_TEXT }), NODE_MSGS),
  );
  report({ name: 'baseline: function node JSON.parse + pick', value: functionRate, unit: 'msgs/s' });
  for (const c of CASES) {
    const flow = [{ id: 'entry', type: 'm2m-telemetry', z: 'f1', ...c.config, wires: [['sink'], []] } as FlowNode, ...tail()];
    const outputs = c.outputs ?? 1;
    const rate = Math.max(await flowRate(flow, modules, c.message, NODE_MSGS, outputs), await flowRate(flow, modules, c.message, NODE_MSGS, outputs));
    report({ name: `m2m-telemetry ${c.format} (input msgs)`, value: rate, unit: 'msgs/s', baseline: functionRate, baselineName: 'function node' });
    if (outputs > 1)
      report({
        name: `m2m-telemetry ${c.format} (telemetry msgs out)`,
        value: rate * outputs,
        unit: 'msgs/s',
        baseline: functionRate,
        baselineName: 'function node',
      });
  }
}

async function main(): Promise<void> {
  console.log(`Node ${process.version}; figures are the best of repeated runs on a shared machine`);
  // TELEMETRY_BENCH=json,lpp runs only those formats (for profiling one path)
  const only = process.env.TELEMETRY_BENCH?.split(',');
  if (only) CASES.splice(0, CASES.length, ...CASES.filter((c) => only.includes(c.format)));
  codecBench();
  await nodeBench();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
