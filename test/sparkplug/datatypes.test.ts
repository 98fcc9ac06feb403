import assert from 'assert';
import { SparkplugHost, type HostEvent, type MetricInfo } from '../../lib/sparkplug';
import { decodeWirePayload } from '../../lib/telemetry/sparkplug-codec';
import { decodeFullPayload } from '../../lib/sparkplug/wire';
import { encodeIndependently, type IndependentMetric } from './independent-encoder';

// Every datatype of Sparkplug 3.0 (section 6.4.16), each encoded by the independent encoder from .proto text,
// read once from the birth (name, alias, datatype) and once from data carrying the alias only and no datatype.

const T = 1_700_000_000_000;
const U32 = (n: number): number => n >>> 0; // a signed 32-bit value as the unsigned wire field holds it
const U64 = (n: bigint): string => BigInt.asUintN(64, n).toString();

interface Case {
  name: string;
  datatype: number;
  wire: IndependentMetric;
  expected: unknown;
}

const CASES: Case[] = [
  { name: 'Int8', datatype: 1, wire: { intValue: U32(-5) }, expected: -5 },
  { name: 'Int16', datatype: 2, wire: { intValue: U32(-300) }, expected: -300 },
  { name: 'Int32', datatype: 3, wire: { intValue: U32(-70000) }, expected: -70000 },
  { name: 'Int64', datatype: 4, wire: { longValue: U64(-(2n ** 40n)) }, expected: -(2 ** 40) },
  { name: 'Int64 beyond 2^53', datatype: 4, wire: { longValue: U64(-9007199254740993n) }, expected: '-9007199254740993' },
  { name: 'UInt8', datatype: 5, wire: { intValue: 200 }, expected: 200 },
  { name: 'UInt16', datatype: 6, wire: { intValue: 60000 }, expected: 60000 },
  { name: 'UInt32 in int_value (the specification)', datatype: 7, wire: { intValue: 4000000000 }, expected: 4000000000 },
  { name: 'UInt32 in long_value (Tahu)', datatype: 7, wire: { longValue: '4000000000' }, expected: 4000000000 },
  { name: 'UInt64', datatype: 8, wire: { longValue: '18446744073709551615' }, expected: '18446744073709551615' },
  { name: 'Float', datatype: 9, wire: { floatValue: 1.5 }, expected: 1.5 },
  { name: 'Double', datatype: 10, wire: { doubleValue: Math.PI }, expected: Math.PI },
  { name: 'Boolean false', datatype: 11, wire: { booleanValue: false }, expected: false },
  { name: 'String', datatype: 12, wire: { stringValue: 'héllo' }, expected: 'héllo' },
  { name: 'DateTime', datatype: 13, wire: { longValue: '1700000000123' }, expected: 1700000000123 },
  { name: 'Text', datatype: 14, wire: { stringValue: 'a longer text' }, expected: 'a longer text' },
  { name: 'UUID', datatype: 15, wire: { stringValue: '123e4567-e89b-12d3-a456-426614174000' }, expected: '123e4567-e89b-12d3-a456-426614174000' },
  {
    name: 'DataSet',
    datatype: 16,
    wire: {
      datasetValue: {
        numOfColumns: 3,
        columns: ['n', 's', 'b'],
        types: [3, 12, 11],
        rows: [{ elements: [{ intValue: U32(-1) }, { stringValue: 'x' }, { booleanValue: true }] }],
      },
    },
    expected: { columns: ['n', 's', 'b'], types: [3, 12, 11], rows: [[-1, 'x', true]] },
  },
  { name: 'Bytes', datatype: 17, wire: { bytesValue: Buffer.from([1, 2, 255]) }, expected: Buffer.from([1, 2, 255]) },
  { name: 'File', datatype: 18, wire: { bytesValue: Buffer.from('file body'), metadata: { fileName: 'a.txt' } }, expected: Buffer.from('file body') },
];

function handle(host: SparkplugHost, topic: string, payload: Parameters<typeof encodeIndependently>[0]): HostEvent[] {
  return host.handle(topic, encodeIndependently(payload), T);
}

function bornHost(metrics: IndependentMetric[]): { host: SparkplugHost; birth: Extract<HostEvent, { kind: 'birth' }> } {
  const host = new SparkplugHost();
  handle(host, 'spBv1.0/G/NBIRTH/E', { timestamp: T, seq: 0, metrics: [{ name: 'bdSeq', datatype: 8, longValue: 0 }] });
  const events = handle(host, 'spBv1.0/G/DBIRTH/E/D', { timestamp: T, seq: 1, metrics });
  const birth = events.find((e) => e.kind === 'birth') as Extract<HostEvent, { kind: 'birth' }>;
  assert.deepStrictEqual(
    events.filter((e) => e.kind === 'problem'),
    [],
  );
  return { host, birth };
}

describe('Sparkplug host: every datatype from an independent encoder', () => {
  CASES.forEach((c, i) => {
    it(`${c.name}: read from the birth, then from data by alias only without datatype`, () => {
      const { host, birth } = bornHost([{ name: c.name, alias: 100 + i, datatype: c.datatype, ...c.wire }]);
      const declared = birth.metrics.find((m) => m.name === c.name) as MetricInfo;
      assert.deepStrictEqual(declared.value, c.expected);
      assert.strictEqual(declared.datatype, c.datatype);
      assert.strictEqual(declared.alias, 100 + i);
      const events = handle(host, 'spBv1.0/G/DDATA/E/D', { timestamp: T + 1, seq: 2, metrics: [{ alias: 100 + i, ...c.wire }] });
      assert.deepStrictEqual(
        events.map((e) => e.kind),
        ['data'],
      );
      const data = events[0] as Extract<HostEvent, { kind: 'data' }>;
      assert.deepStrictEqual(data.records[0].values[c.name], c.expected);
    });
  });

  it('a Template instance is flattened as Template/member, in the birth and in data by alias', () => {
    const template = {
      templateRef: 'Motor',
      isDefinition: false,
      metrics: [
        { name: 'rpm', datatype: 3, intValue: 1500 },
        { name: 'mode', datatype: 12, stringValue: 'auto' },
        { name: 'inner', datatype: 19, templateValue: { templateRef: 'X', metrics: [{ name: 'ok', datatype: 11, booleanValue: true }] } },
      ],
    };
    const { host, birth } = bornHost([{ name: 'M1', alias: 7, datatype: 19, templateValue: template }]);
    assert.deepStrictEqual(
      birth.metrics.filter((m) => m.value !== undefined).map((m) => [m.name, m.value]),
      [
        ['M1/rpm', 1500],
        ['M1/mode', 'auto'],
        ['M1/inner/ok', true],
      ],
    );
    const events = handle(host, 'spBv1.0/G/DDATA/E/D', {
      timestamp: T,
      seq: 2,
      metrics: [{ alias: 7, templateValue: { metrics: [{ name: 'rpm', datatype: 3, intValue: 1600 }] } }],
    });
    assert.deepStrictEqual((events[0] as Extract<HostEvent, { kind: 'data' }>).records[0].values, { 'M1/rpm': 1600 });
  });

  it('PropertySets, nested sets and set lists are kept with the birth', () => {
    const properties = {
      keys: ['engUnit', 'limits', 'history', 'quality'],
      values: [
        { type: 12, stringValue: '°C' },
        {
          type: 20,
          propertysetValue: {
            keys: ['hi', 'lo'],
            values: [
              { type: 10, doubleValue: 90.5 },
              { type: 3, intValue: U32(-10) },
            ],
          },
        },
        { type: 21, propertysetsValue: { propertyset: [{ keys: ['a'], values: [{ type: 11, booleanValue: true }] }] } },
        { type: 3, isNull: true },
      ],
    };
    const { birth } = bornHost([{ name: 't', alias: 1, datatype: 10, doubleValue: 21.5, properties }]);
    assert.deepStrictEqual(birth.metrics[0].properties, { engUnit: '°C', limits: { hi: 90.5, lo: -10 }, history: [{ a: true }], quality: null });
  });

  it('is_null gives null, is_historical is not taken as current, is_transient is reported but not kept', () => {
    const { host } = bornHost([
      { name: 'a', alias: 1, datatype: 10, doubleValue: 1 },
      { name: 'b', alias: 2, datatype: 3, intValue: 1 },
    ]);
    const events = handle(host, 'spBv1.0/G/DDATA/E/D', {
      timestamp: T + 10,
      seq: 2,
      metrics: [
        { alias: 1, isNull: true },
        { alias: 2, intValue: 5, isHistorical: true, timestamp: T - 1000 },
        { alias: 2, intValue: 6, isTransient: true },
      ],
    });
    const data = events[0] as Extract<HostEvent, { kind: 'data' }>;
    assert.deepStrictEqual(data.records, [{ timestamp: T + 10, values: { a: null, b: 6 } }]);
    assert.deepStrictEqual(data.historical, [{ name: 'b', value: 5, timestamp: T - 1000 }]);
    assert.deepStrictEqual(data.transient, ['b']);
    assert.strictEqual(host.catalog('G', 'E', 'D')?.get('b')?.value, 1, 'neither the historical nor the transient value became the last known value');
  });

  it('a metric whose value field does not match its datatype is reported, never dropped quietly', () => {
    const { host } = bornHost([{ name: 'a', alias: 1, datatype: 10, doubleValue: 1 }]);
    const events = handle(host, 'spBv1.0/G/DDATA/E/D', { timestamp: T, seq: 2, metrics: [{ alias: 1, stringValue: 'oops' }] });
    assert.deepStrictEqual(
      events.map((e) => [e.kind, e.kind === 'problem' ? e.code : '']),
      [['problem', 'INVALID_PAYLOAD']],
    );
  });
});

describe("Sparkplug host decoder: the same plain payload as the telemetry codec's decodeWirePayload", () => {
  it('for 64-bit values at every width (small, beyond 2^53, the top bit set), bytes, templates, data sets and property sets', () => {
    const bytes = encodeIndependently({
      timestamp: T,
      seq: 255,
      metrics: [
        { name: 'small', alias: 1, datatype: 8, longValue: '5' },
        { name: 'beyond', alias: 2 ** 40, datatype: 8, longValue: '9007199254740993' },
        { name: 'top', datatype: 8, longValue: '18446744073709551615' },
        { name: 'neg', datatype: 4, longValue: U64(-1n) },
        { name: 'raw', datatype: 17, bytesValue: Buffer.from([0, 255]) },
        {
          name: 't',
          datatype: 19,
          templateValue: { metrics: [{ name: 'm', datatype: 3, intValue: 4294967295 }], parameters: [{ name: 'p', type: 8, longValue: '123' }] },
        },
        { name: 'ds', datatype: 16, datasetValue: { numOfColumns: 1, columns: ['x'], types: [4], rows: [{ elements: [{ longValue: U64(-2n) }] }] } },
        {
          name: 'p',
          datatype: 10,
          doubleValue: 1,
          properties: { keys: ['k'], values: [{ type: 20, propertysetValue: { keys: ['z'], values: [{ type: 4, longValue: '5' }] } }] },
        },
      ],
    });
    const sorted = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sorted)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
            )
          : v;
    assert.deepStrictEqual(sorted(decodeFullPayload(bytes)), sorted(decodeWirePayload(bytes)));
  });
});
