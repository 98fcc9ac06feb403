import assert from 'assert';
import { parse } from 'protobufjs';
import { SparkplugSession, encodeSparkplug } from '../../lib/telemetry/sparkplug';
import { DEFAULT_LIMITS, TelemetryDecoder } from '../../lib/telemetry';
import { M2MError } from '../../lib/errors';

// A second, independent encoder: the Metric message written out as .proto text here and compiled by protobufjs's
// parser, not the descriptor the pack decodes with. Field numbers and types are those of the Sparkplug 3.0
// specification (section 6.4); snake_case names become camelCase in protobufjs objects.
const PROTO = `
syntax = "proto2";
message Payload {
  message PropertySet { repeated string keys = 1; repeated PropertyValue values = 2; }
  message PropertyValue { optional uint32 type = 1; optional bool is_null = 2; oneof value { uint32 int_value = 3; uint64 long_value = 4; float float_value = 5; double double_value = 6; bool boolean_value = 7; string string_value = 8; } }
  message Metric {
    optional string name = 1; optional uint64 alias = 2; optional uint64 timestamp = 3; optional uint32 datatype = 4;
    optional bool is_null = 7; optional PropertySet properties = 9;
    oneof value { uint32 int_value = 10; uint64 long_value = 11; float float_value = 12; double double_value = 13; bool boolean_value = 14; string string_value = 15; bytes bytes_value = 16; }
  }
  optional uint64 timestamp = 1; repeated Metric metrics = 2; optional uint64 seq = 3; optional string uuid = 4;
}`;
const Payload = parse(PROTO).root.lookupType('Payload');
const T = 1_700_000_000_000;

type WireMetric = { name: string; datatype: number; [field: string]: unknown };
function encodeIndependently(metrics: WireMetric[], seq = 0): Buffer {
  return Buffer.from(Payload.encode(Payload.fromObject({ timestamp: T, seq, metrics })).finish());
}

function decodeBirth(metrics: WireMetric[]): Record<string, unknown> {
  const out = new TelemetryDecoder({ format: 'sparkplug' }).decode({ payload: encodeIndependently(metrics), topic: 'spBv1.0/g/NBIRTH/edge', now: T });
  assert.strictEqual(out.records.length, 1);
  return out.records[0].payload;
}

describe('sparkplug: every datatype, read as the specification stores it', () => {
  it("signed integers are two's complement in the unsigned fields, including negative Int64", () => {
    const payload = decodeBirth([
      { name: 'i8', datatype: 1, intValue: 2 ** 32 - 5 },
      { name: 'i16', datatype: 2, intValue: 2 ** 32 - 300 },
      { name: 'i32', datatype: 3, intValue: 2 ** 31 },
      { name: 'i64', datatype: 4, longValue: '18446744073709551611' }, // -5
      { name: 'i64min', datatype: 4, longValue: '9223372036854775808' },
    ]);
    assert.deepStrictEqual(payload, { i8: -5, i16: -300, i32: -(2 ** 31), i64: -5, i64min: '-9223372036854775808' });
  });

  it('unsigned integers keep their full range: UInt32 above 2^31 from int_value (the specification) or long_value (Tahu, Ignition)', () => {
    const payload = decodeBirth([
      { name: 'u8', datatype: 5, intValue: 255 },
      { name: 'u16', datatype: 6, intValue: 65535 },
      { name: 'u32', datatype: 7, intValue: 4_294_967_295 },
      { name: 'u32long', datatype: 7, longValue: '3000000000' },
      { name: 'u64', datatype: 8, longValue: '9007199254740991' },
    ]);
    assert.deepStrictEqual(payload, { u8: 255, u16: 65535, u32: 4_294_967_295, u32long: 3_000_000_000, u64: Number.MAX_SAFE_INTEGER });
  });

  it('UInt64 beyond 2^53 is its exact decimal text, never a rounded number', () => {
    const payload = decodeBirth([
      { name: 'above', datatype: 8, longValue: '9007199254740993' },
      { name: 'max', datatype: 8, longValue: '18446744073709551615' },
    ]);
    assert.deepStrictEqual(payload, { above: '9007199254740993', max: '18446744073709551615' });
  });

  it('floats, doubles, booleans (false included), strings, text, UUID and DateTime', () => {
    const payload = decodeBirth([
      { name: 'f', datatype: 9, floatValue: 1.5 },
      { name: 'd', datatype: 10, doubleValue: -273.15 },
      { name: 'on', datatype: 11, booleanValue: true },
      { name: 'off', datatype: 11, booleanValue: false },
      { name: 's', datatype: 12, stringValue: 'run' },
      { name: 'txt', datatype: 14, stringValue: 'long text' },
      { name: 'id', datatype: 15, stringValue: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' },
      { name: 'at', datatype: 13, longValue: String(T) },
    ]);
    assert.deepStrictEqual(payload, {
      f: 1.5,
      d: -273.15,
      on: true,
      off: false,
      s: 'run',
      txt: 'long text',
      id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      at: T,
    });
  });

  it('null values, bytes and files are not flat metrics and are left out without an error', () => {
    const payload = decodeBirth([
      { name: 'kept', datatype: 3, intValue: 7 },
      { name: 'nothing', datatype: 3, isNull: true },
      { name: 'blob', datatype: 17, bytesValue: Buffer.from([1, 2, 3]) },
      { name: 'file', datatype: 18, bytesValue: Buffer.from('x') },
    ]);
    assert.deepStrictEqual(payload, { kept: 7 });
  });

  it('data without a datatype (as the specification asks of NDATA) takes the datatype its birth declared', () => {
    const decoder = new TelemetryDecoder({ format: 'sparkplug' });
    decoder.decode({ payload: encodeIndependently([{ name: 'offset', alias: 1, datatype: 4, longValue: '0' }], 0), topic: 'spBv1.0/g/NBIRTH/edge', now: T });
    const data = Buffer.from(Payload.encode(Payload.fromObject({ timestamp: T, seq: 1, metrics: [{ alias: 1, longValue: '18446744073709551615' }] })).finish());
    const out = decoder.decode({ payload: data, topic: 'spBv1.0/g/NDATA/edge', now: T });
    assert.deepStrictEqual(out.records[0].payload, { offset: -1 });
  });

  it('what the pack encodes, the independent decoder reads back (the rebirth NCMD and the simulator use it)', () => {
    const bytes = encodeSparkplug({
      timestamp: T,
      seq: 3,
      metrics: [
        { name: 'n', type: 'Int64', value: -5n },
        { name: 'u', type: 'UInt32', value: 4_000_000_000 },
        { name: 'b', type: 'Boolean', value: false },
      ],
    });
    const decoded = Payload.toObject(Payload.decode(bytes), { longs: String }) as { metrics: Array<Record<string, unknown>> };
    assert.deepStrictEqual(
      decoded.metrics.map((m) => [m.name, m.datatype, m.longValue ?? m.intValue ?? m.booleanValue]),
      [
        ['n', 4, '18446744073709551611'],
        ['u', 7, 4_000_000_000],
        ['b', 11, false],
      ],
    );
  });
});

describe('sparkplug: session limits', () => {
  it('an edge node may announce a bounded number of devices; past it a DBIRTH is refused with TOO_MANY_DEVICES', () => {
    const session = new SparkplugSession(10, 5000, 3);
    const limits = { ...DEFAULT_LIMITS };
    const birth = (seq: number): Buffer => encodeIndependently([{ name: 'x', datatype: 3, intValue: seq }], seq);
    session.decode('spBv1.0/g/NBIRTH/edge', birth(0), T, limits);
    for (let i = 1; i <= 3; i++) session.decode(`spBv1.0/g/DBIRTH/edge/dev-${i}`, birth(i), T, limits);
    assert.throws(
      () => session.decode('spBv1.0/g/DBIRTH/edge/dev-4', birth(4), T, limits),
      (err: unknown) => err instanceof M2MError && err.code === 'TOO_MANY_DEVICES',
    );
    // A device already known may be born again (a rebirth), and the others keep working.
    assert.doesNotThrow(() => session.decode('spBv1.0/g/DBIRTH/edge/dev-2', birth(5), T, limits));
  });
});
