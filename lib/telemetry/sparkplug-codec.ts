import { Root, type Type } from 'protobufjs/light';

// The Sparkplug B payload (Sparkplug 3.0, "Payload" in the spec's protobuf definition), declared as a
// protobufjs descriptor so nothing is generated at build time. Field numbers are the wire contract.

const scalarValues = (first: number): Record<string, { type: string; id: number }> => ({
  intValue: { type: 'uint32', id: first },
  longValue: { type: 'uint64', id: first + 1 },
  floatValue: { type: 'float', id: first + 2 },
  doubleValue: { type: 'double', id: first + 3 },
  booleanValue: { type: 'bool', id: first + 4 },
  stringValue: { type: 'string', id: first + 5 },
});

const DESCRIPTOR = {
  nested: {
    Payload: {
      // proto2, as the specification's definition: optional fields have presence, so a false or 0 sent is kept
      edition: 'proto2',
      fields: {
        timestamp: { type: 'uint64', id: 1 },
        metrics: { rule: 'repeated', type: 'Metric', id: 2 },
        seq: { type: 'uint64', id: 3 },
        uuid: { type: 'string', id: 4 },
        body: { type: 'bytes', id: 5 },
      },
      nested: {
        Template: {
          fields: {
            version: { type: 'string', id: 1 },
            metrics: { rule: 'repeated', type: 'Metric', id: 2 },
            parameters: { rule: 'repeated', type: 'Parameter', id: 3 },
            templateRef: { type: 'string', id: 4 },
            isDefinition: { type: 'bool', id: 5 },
          },
          nested: {
            Parameter: { fields: { name: { type: 'string', id: 1 }, type: { type: 'uint32', id: 2 }, ...scalarValues(3) } },
          },
        },
        DataSet: {
          fields: {
            numOfColumns: { type: 'uint64', id: 1 },
            columns: { rule: 'repeated', type: 'string', id: 2 },
            types: { rule: 'repeated', type: 'uint32', id: 3 },
            rows: { rule: 'repeated', type: 'Row', id: 4 },
          },
          nested: {
            DataSetValue: { fields: scalarValues(1) },
            Row: { fields: { elements: { rule: 'repeated', type: 'DataSetValue', id: 1 } } },
          },
        },
        PropertyValue: {
          fields: {
            type: { type: 'uint32', id: 1 },
            isNull: { type: 'bool', id: 2 },
            ...scalarValues(3),
            propertysetValue: { type: 'PropertySet', id: 9 },
            propertysetsValue: { type: 'PropertySetList', id: 10 },
          },
        },
        PropertySet: {
          fields: { keys: { rule: 'repeated', type: 'string', id: 1 }, values: { rule: 'repeated', type: 'PropertyValue', id: 2 } },
        },
        PropertySetList: { fields: { propertyset: { rule: 'repeated', type: 'PropertySet', id: 1 } } },
        MetaData: {
          fields: {
            isMultiPart: { type: 'bool', id: 1 },
            contentType: { type: 'string', id: 2 },
            size: { type: 'uint64', id: 3 },
            seq: { type: 'uint64', id: 4 },
            fileName: { type: 'string', id: 5 },
            fileType: { type: 'string', id: 6 },
            md5: { type: 'string', id: 7 },
            description: { type: 'string', id: 8 },
          },
        },
        Metric: {
          fields: {
            name: { type: 'string', id: 1 },
            alias: { type: 'uint64', id: 2 },
            timestamp: { type: 'uint64', id: 3 },
            datatype: { type: 'uint32', id: 4 },
            isHistorical: { type: 'bool', id: 5 },
            isTransient: { type: 'bool', id: 6 },
            isNull: { type: 'bool', id: 7 },
            metadata: { type: 'MetaData', id: 8 },
            properties: { type: 'PropertySet', id: 9 },
            ...scalarValues(10),
            bytesValue: { type: 'bytes', id: 16 },
            datasetValue: { type: 'DataSet', id: 17 },
            templateValue: { type: 'Template', id: 18 },
          },
        },
      },
    },
  },
};

/** The compiled Payload message, for readers that walk the decoded message themselves (the host). */
export const PayloadType: Type = Root.fromJSON(DESCRIPTOR).lookupType('Payload');

/** Sparkplug B datatype numbers (Sparkplug 3.0, section 6.4.16). */
export const DATATYPES = {
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
  UUID: 15,
  DataSet: 16,
  Bytes: 17,
  File: 18,
  Template: 19,
} as const;
export type DatatypeName = keyof typeof DATATYPES;

/** A 64-bit value as protobufjs hands it over with `longs: String`: the unsigned decimal text. */
type Wire64 = string;

export interface WirePropertyValue {
  type?: number;
  isNull?: boolean;
  stringValue?: string;
}
export interface WireMetric {
  name?: string;
  alias?: Wire64;
  timestamp?: Wire64;
  datatype?: number;
  isNull?: boolean;
  properties?: { keys?: string[]; values?: WirePropertyValue[] };
  intValue?: number;
  longValue?: Wire64;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
}
export interface WirePayload {
  timestamp?: Wire64;
  seq?: Wire64;
  metrics?: WireMetric[];
}

/** Decodes the protobuf; 64-bit fields stay exact as unsigned decimal strings. Throws on malformed bytes. */
export function decodeWirePayload(bytes: Uint8Array): WirePayload {
  const message = PayloadType.decode(bytes);
  return PayloadType.toObject(message, { longs: String, defaults: false, arrays: false, bytes: String }) as WirePayload;
}

/** A metric to encode: its value is given as the number, bigint, string or boolean its datatype holds. */
export interface MetricToEncode {
  name?: string;
  alias?: number;
  timestamp?: number;
  type: DatatypeName;
  value: number | bigint | string | boolean | null;
}

export function encodeSparkplugPayload(payload: { timestamp?: number; seq?: number; metrics: MetricToEncode[] }): Buffer {
  const metrics = payload.metrics.map((m) => ({ name: m.name, alias: m.alias, timestamp: m.timestamp, datatype: DATATYPES[m.type], ...wireValue(m) }));
  const message = PayloadType.fromObject({ timestamp: payload.timestamp, seq: payload.seq, metrics });
  return Buffer.from(PayloadType.encode(message).finish());
}

function wireValue(metric: MetricToEncode): Record<string, unknown> {
  const { type, value } = metric;
  if (value === null) return { isNull: true };
  switch (type) {
    case 'Int8':
    case 'Int16':
    case 'Int32':
      return { intValue: Number(BigInt.asUintN(32, BigInt(value as number))) }; // two's complement in a uint32
    case 'UInt8':
    case 'UInt16':
    case 'UInt32':
      return { intValue: Number(value) };
    case 'Int64':
    case 'UInt64':
    case 'DateTime':
      return { longValue: BigInt.asUintN(64, BigInt(value as number | bigint | string)).toString() };
    case 'Float':
      return { floatValue: Number(value) };
    case 'Double':
      return { doubleValue: Number(value) };
    case 'Boolean':
      return { booleanValue: Boolean(value) };
    default:
      return { stringValue: String(value) };
  }
}

/** Integer datatypes: bit width and sign. */
const INTEGERS: Record<number, { bits: number; signed: boolean }> = {
  [DATATYPES.Int8]: { bits: 8, signed: true },
  [DATATYPES.Int16]: { bits: 16, signed: true },
  [DATATYPES.Int32]: { bits: 32, signed: true },
  [DATATYPES.Int64]: { bits: 64, signed: true },
  [DATATYPES.UInt8]: { bits: 8, signed: false },
  [DATATYPES.UInt16]: { bits: 16, signed: false },
  [DATATYPES.UInt32]: { bits: 32, signed: false },
  [DATATYPES.UInt64]: { bits: 64, signed: false },
  [DATATYPES.DateTime]: { bits: 64, signed: false },
};
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * An integer metric's value, read from whichever of int_value and long_value carries it: the specification
 * puts UInt32 in int_value, while Tahu's reference clients and Ignition have always sent it in long_value,
 * and a host must read both. Signed types are two's complement in those unsigned fields. The result is a
 * number while it is exact (|n| <= 2^53 - 1), otherwise its exact decimal text: a number beyond 2^53 would
 * silently round (a counter at 2^53 + 1 reads as 2^53), and a bigint cannot be cloned into the debug sidebar
 * or serialised to JSON, so the text is the only lossless choice every downstream node accepts.
 */
function integerValue(metric: WireMetric, width: { bits: number; signed: boolean }): number | string | undefined {
  const wire = metric.intValue ?? metric.longValue;
  if (wire === undefined) return undefined;
  const raw = BigInt(wire);
  const n = width.signed ? BigInt.asIntN(width.bits, raw) : BigInt.asUintN(width.bits, raw);
  return n >= -MAX_EXACT && n <= MAX_EXACT ? Number(n) : n.toString();
}

/** A 64-bit wire field used as a count or time (seq, alias, timestamp): a number, exact below 2^53. */
export function wireNumber(value: Wire64 | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

/**
 * The flat value of a metric per its datatype (the metric's own, or the one its birth declared), or undefined
 * for what is not one number, string or boolean (null, DataSet, Template, Bytes, File, arrays). Signed types
 * are read as two's complement, as the specification stores them in the unsigned wire fields. Without any
 * datatype the value field present decides, integers read as unsigned.
 */
export function metricValue(metric: WireMetric, datatype = metric.datatype ?? inferDatatype(metric)): number | string | boolean | undefined {
  if (metric.isNull) return undefined;
  const integer = datatype === undefined ? undefined : INTEGERS[datatype];
  if (integer) return integerValue(metric, integer);
  switch (datatype) {
    case DATATYPES.Float:
      return finite(metric.floatValue);
    case DATATYPES.Double:
      return finite(metric.doubleValue);
    case DATATYPES.Boolean:
      return metric.booleanValue;
    case DATATYPES.String:
    case DATATYPES.Text:
    case DATATYPES.UUID:
      return metric.stringValue;
    default:
      return undefined;
  }
}

function inferDatatype(metric: WireMetric): number | undefined {
  if (metric.booleanValue !== undefined) return DATATYPES.Boolean;
  if (metric.stringValue !== undefined) return DATATYPES.String;
  if (metric.doubleValue !== undefined) return DATATYPES.Double;
  if (metric.floatValue !== undefined) return DATATYPES.Float;
  if (metric.longValue !== undefined) return DATATYPES.UInt64;
  if (metric.intValue !== undefined) return DATATYPES.UInt32;
  return undefined;
}

function finite(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/** The engineering unit from a metric's property set (`engUnit`, or `engUnits` as some edge nodes send it). */
export function metricUnit(metric: WireMetric): string | undefined {
  const keys = metric.properties?.keys ?? [];
  for (const key of ['engUnit', 'engUnits']) {
    const unit = metric.properties?.values?.[keys.indexOf(key)]?.stringValue;
    if (keys.includes(key) && typeof unit === 'string' && unit !== '') return unit;
  }
  return undefined;
}
