// npm run bench:sparkplug: DDATA messages per second through the host (protobuf decode, seq check, alias
// resolution, values by datatype), beside decoding alone in the same run (the pack's decoder, and Tahu's
// sparkplug-payload as the reference); then the memory a born device holds, and that a flood stays at the cap.
import { get } from 'sparkplug-payload';
import { SparkplugHost } from '../lib/sparkplug';
import { decodeFullPayload } from '../lib/sparkplug/wire';
import { fmt, heapUsed, median, opsPerSecond, report } from './harness';

const tahu = get('spBv1.0') as NonNullable<ReturnType<typeof get>>;
type TahuMetrics = NonNullable<Parameters<typeof tahu.encodePayload>[0]['metrics']>;
const RUNS = 100_000;
const ROUNDS = 5;
const NOW = 1_700_000_000_000;
const METRICS = 10;

const TYPES = ['Double', 'Float', 'Int32', 'UInt32', 'Int64', 'Boolean', 'String', 'Double', 'UInt16', 'Double'];
const value = (type: string, i: number): number | boolean | string =>
  type === 'Boolean' ? i % 2 === 0 : type === 'String' ? `s${i}` : type.startsWith('U') ? i : type === 'Double' || type === 'Float' ? i + 0.5 : -i;

function birth(): Buffer {
  return Buffer.from(
    tahu.encodePayload({
      timestamp: NOW,
      seq: 0,
      metrics: TYPES.map((type, i) => ({ name: `metric-${i}`, alias: i + 1, type, value: value(type, 0) })) as TahuMetrics,
    }),
  );
}
/** 256 DDATA payloads, seq 0-255, every metric by alias only (as an edge node sends them after its birth). */
const DDATA = Array.from({ length: 256 }, (_, seq) =>
  Buffer.from(
    tahu.encodePayload({ timestamp: NOW + seq, seq, metrics: TYPES.map((type, i) => ({ alias: i + 1, type, value: value(type, seq) })) as TahuMetrics }),
  ),
);

function bornHost(): SparkplugHost {
  const host = new SparkplugHost();
  host.handle('spBv1.0/G/NBIRTH/E', Buffer.from(tahu.encodePayload({ timestamp: NOW, seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 0 }] })), NOW);
  const dbirth = tahu.decodePayload(birth());
  dbirth.seq = 1;
  host.handle('spBv1.0/G/DBIRTH/E/D', Buffer.from(tahu.encodePayload(dbirth)), NOW);
  return host;
}

function throughput(): void {
  const resolved: number[] = [];
  const decodeOnly: number[] = [];
  const tahuOnly: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const host = bornHost();
    let checked = 0;
    // seq continues 2, 3, … wrapping, so no rebirth is asked
    resolved.push(
      opsPerSecond(RUNS, (i) => {
        const events = host.handle('spBv1.0/G/DDATA/E/D', DDATA[(i + 2) % 256], NOW);
        if (events.length !== 1 || events[0].kind !== 'data') throw new Error(`unexpected ${events.map((e) => e.kind).join()}`);
        checked++;
      }),
    );
    decodeOnly.push(opsPerSecond(RUNS, (i) => decodeFullPayload(DDATA[i % 256])));
    tahuOnly.push(opsPerSecond(RUNS, (i) => tahu.decodePayload(DDATA[i % 256])));
    if (checked !== RUNS) throw new Error('not every message was resolved');
  }
  const decodeMedian = median(decodeOnly);
  console.log(`DDATA of ${METRICS} metrics by alias, ${RUNS} messages x ${ROUNDS} rounds (medians):`);
  report({
    name: 'host: decode + seq + alias + values',
    value: median(resolved),
    unit: 'msgs/s',
    baseline: decodeMedian,
    baselineName: 'decode alone',
    higherIsBetter: true,
  });
  report({
    name: 'decode alone (the pack, protobufjs)',
    value: decodeMedian,
    unit: 'msgs/s',
    baseline: median(tahuOnly),
    baselineName: 'Tahu decodePayload',
    higherIsBetter: true,
  });
  report({ name: 'metrics resolved by the host', value: median(resolved) * METRICS, unit: 'metrics/s' });
}

function memory(): void {
  const devices = 2000;
  const payload = birth();
  const before = heapUsed();
  let host: SparkplugHost | undefined = new SparkplugHost({ maxDevicesPerNode: devices });
  host.handle('spBv1.0/G/NBIRTH/E', Buffer.from(tahu.encodePayload({ timestamp: NOW, seq: 0, metrics: [] })), NOW);
  const dbirth = tahu.decodePayload(payload);
  for (let d = 0; d < devices; d++) {
    dbirth.seq = (d + 1) % 256;
    host.handle(`spBv1.0/G/DBIRTH/E/dev-${d}`, Buffer.from(tahu.encodePayload(dbirth)), NOW);
  }
  const born = heapUsed();
  const perDevice = (born - before) / devices;
  // a flood of births for new ids beyond the cap: refused, the heap stays where the cap put it
  for (let d = devices; d < devices * 5; d++) {
    dbirth.seq = (d + 1) % 256;
    host.handle(`spBv1.0/G/DBIRTH/E/dev-${d}`, Buffer.from(tahu.encodePayload(dbirth)), NOW);
  }
  const flooded = heapUsed();
  console.log(`\nMemory, ${devices} devices born with ${METRICS} metrics each, then ${devices * 4} more DBIRTHs for new ids at the cap:`);
  report({ name: 'heap per born device', value: perDevice, unit: 'bytes' });
  report({ name: 'heap growth from the flood', value: flooded - born, unit: 'bytes', baseline: born - before, baselineName: 'heap of the born devices' });
  report({ name: 'devices held after the flood', value: host.stats().devices, unit: 'devices', baseline: devices, baselineName: 'cap' });
  host.handle('spBv1.0/G/NDEATH/E', Buffer.from(tahu.encodePayload({ timestamp: NOW, metrics: [] })), NOW);
  const dead = heapUsed();
  report({ name: 'heap after the NDEATH', value: dead - before, unit: 'bytes', baseline: born - before, baselineName: 'born' });
  host = undefined;
  console.log(`(figures from process.memoryUsage().heapUsed after gc; ${fmt(devices)} devices)`);
}

throughput();
memory();
