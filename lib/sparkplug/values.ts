import { DATATYPES, metricValue, type WireMetric } from '../telemetry/sparkplug-codec';
import { isHostileKey } from '../safe';
import type { FullMetric, FullPropertySet, FullPropertyValue, WireDataSet, WireScalar } from './wire';

// Every datatype of the Sparkplug 3.0 specification (section 6.4.16) read into a JavaScript value. Integers are
// numbers while exact and decimal text beyond 2^53 (the codec's rule); Bytes and File are Buffers; a DataSet is
// { columns, types, rows }; a Template instance is flattened into `Template/member` metrics by the caller.

export const ARRAY_TYPES = {
  Int8Array: 22,
  Int16Array: 23,
  Int32Array: 24,
  Int64Array: 25,
  UInt8Array: 26,
  UInt16Array: 27,
  UInt32Array: 28,
  UInt64Array: 29,
  FloatArray: 30,
  DoubleArray: 31,
  BooleanArray: 32,
  StringArray: 33,
  DateTimeArray: 34,
} as const;
export const PROPERTY_TYPES = { PropertySet: 20, PropertySetList: 21 } as const;

export interface DataSetValue {
  columns: string[];
  types: number[];
  rows: (number | string | boolean | null)[][];
}
export type ArrayValue = (number | string | boolean)[];
export type SparkplugValue = number | string | boolean | null | Buffer | DataSetValue | ArrayValue;
export type PropertyMap = { [key: string]: number | string | boolean | null | PropertyMap | PropertyMap[] };

/** The datatype's name for messages and events, or `datatype <n>` for a number the specification does not define. */
export function datatypeName(datatype: number | undefined): string {
  if (datatype === undefined) return 'none';
  for (const [name, n] of Object.entries({ ...DATATYPES, ...ARRAY_TYPES })) if (n === datatype) return name;
  return `datatype ${datatype}`;
}

/**
 * A metric's value per its datatype, `null` for is_null, or undefined when the datatype is not one the
 * specification defines or the metric holds no value for it (the caller reports it, never drops it quietly).
 */
export function readValue(metric: FullMetric, datatype: number | undefined): SparkplugValue | undefined {
  if (metric.isNull) return null;
  switch (datatype) {
    case DATATYPES.Bytes:
    case DATATYPES.File:
      return metric.bytesValue === undefined ? undefined : Buffer.from(metric.bytesValue, 'base64');
    case DATATYPES.DataSet:
      return metric.datasetValue === undefined ? undefined : readDataSet(metric.datasetValue);
    case DATATYPES.Template:
      return undefined; // flattened by the caller
    default:
      if (datatype !== undefined && datatype >= ARRAY_TYPES.Int8Array && datatype <= ARRAY_TYPES.DateTimeArray) {
        return metric.bytesValue === undefined ? undefined : readArray(Buffer.from(metric.bytesValue, 'base64'), datatype);
      }
      return metricValue(metric as WireMetric, datatype);
  }
}

function scalar(value: WireScalar, datatype: number): number | string | boolean | null {
  return metricValue(value as WireMetric, datatype) ?? null;
}

function readDataSet(dataset: WireDataSet): DataSetValue {
  const columns = dataset.columns ?? [];
  const types = dataset.types ?? [];
  const rows = (dataset.rows ?? []).map((row) => (row.elements ?? []).map((element, i) => scalar(element, types[i])));
  return { columns, types, rows };
}

const ARRAY_WIDTH: Record<number, number> = { 22: 1, 23: 2, 24: 4, 25: 8, 26: 1, 27: 2, 28: 4, 29: 8, 30: 4, 31: 8, 34: 8 };

/** Sparkplug 3.0 arrays: little-endian packed in bytes_value; booleans a 4-byte count then bits; strings NUL-terminated. */
function readArray(bytes: Buffer, datatype: number): ArrayValue | undefined {
  if (datatype === ARRAY_TYPES.StringArray) {
    const text = bytes.toString('utf8');
    return (text.endsWith('\0') ? text.slice(0, -1) : text).split('\0');
  }
  if (datatype === ARRAY_TYPES.BooleanArray) {
    if (bytes.length < 4) return undefined;
    const count = bytes.readUInt32LE(0);
    if (count > (bytes.length - 4) * 8) return undefined;
    const out: boolean[] = [];
    for (let i = 0; i < count; i++) out.push((bytes[4 + (i >> 3)] & (0x80 >> (i & 7))) !== 0);
    return out;
  }
  const width = ARRAY_WIDTH[datatype];
  if (bytes.length % width !== 0) return undefined;
  const out: (number | string)[] = [];
  for (let at = 0; at < bytes.length; at += width) out.push(arrayElement(bytes, at, datatype));
  return out;
}

function arrayElement(bytes: Buffer, at: number, datatype: number): number | string {
  switch (datatype) {
    case 22:
      return bytes.readInt8(at);
    case 23:
      return bytes.readInt16LE(at);
    case 24:
      return bytes.readInt32LE(at);
    case 26:
      return bytes.readUInt8(at);
    case 27:
      return bytes.readUInt16LE(at);
    case 28:
      return bytes.readUInt32LE(at);
    case 30:
      return bytes.readFloatLE(at);
    case 31:
      return bytes.readDoubleLE(at);
    default: {
      const n = datatype === 25 ? bytes.readBigInt64LE(at) : bytes.readBigUInt64LE(at);
      return n >= -BigInt(Number.MAX_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
    }
  }
}

const MAX_PROPERTY_DEPTH = 8;

/** A metric's PropertySet as a plain object (nested sets and set lists kept), hostile keys left out. */
export function readProperties(set: FullPropertySet | undefined, depth = 0): PropertyMap | undefined {
  if (!set || depth > MAX_PROPERTY_DEPTH) return undefined;
  const out: PropertyMap = {};
  const keys = set.keys ?? [];
  for (let i = 0; i < keys.length; i++) {
    if (isHostileKey(keys[i])) continue;
    const value = readProperty(set.values?.[i], depth);
    if (value !== undefined) out[keys[i]] = value;
  }
  return out;
}

function readProperty(value: FullPropertyValue | undefined, depth: number): PropertyMap[string] | undefined {
  if (!value) return undefined;
  if (value.isNull) return null;
  if (value.type === PROPERTY_TYPES.PropertySet) return readProperties(value.propertysetValue, depth + 1) ?? null;
  if (value.type === PROPERTY_TYPES.PropertySetList) {
    return (value.propertysetsValue?.propertyset ?? []).map((set) => readProperties(set, depth + 1) ?? {});
  }
  return metricValue(value as WireMetric, value.type) ?? null;
}
