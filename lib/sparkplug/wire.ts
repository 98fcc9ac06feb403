import { PayloadType, type WireMetric, type WirePayload, type WirePropertyValue } from '../telemetry/sparkplug-codec';

// The parts of the decoded payload the telemetry decoder does not type: the host reads every field of the
// specification's Payload (section 6.4), all of which the shared descriptor already decodes.
// 64-bit fields are unsigned decimal strings and bytes are base64 text, as decodeWirePayload hands them over.

export interface FullPropertyValue extends WirePropertyValue {
  intValue?: number;
  longValue?: string;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  propertysetValue?: FullPropertySet;
  propertysetsValue?: { propertyset?: FullPropertySet[] };
}
export interface FullPropertySet {
  keys?: string[];
  values?: FullPropertyValue[];
}
export interface WireScalar {
  intValue?: number;
  longValue?: string;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
}
export interface WireDataSet {
  numOfColumns?: string;
  columns?: string[];
  types?: number[];
  rows?: { elements?: WireScalar[] }[];
}
export interface WireTemplate {
  version?: string;
  metrics?: FullMetric[];
  parameters?: (WireScalar & { name?: string; type?: number })[];
  templateRef?: string;
  isDefinition?: boolean;
}
export interface FullMetric extends Omit<WireMetric, 'properties'> {
  isHistorical?: boolean;
  isTransient?: boolean;
  properties?: FullPropertySet;
  bytesValue?: string;
  datasetValue?: WireDataSet;
  templateValue?: WireTemplate;
  metadata?: { fileName?: string; fileType?: string; contentType?: string; md5?: string; description?: string };
}
export interface FullPayload extends Omit<WirePayload, 'metrics'> {
  metrics?: FullMetric[];
  uuid?: string;
}

/**
 * The payload as plain objects, the same shape as the codec's decodeWirePayload (only the fields present; 64-bit
 * fields as exact unsigned decimal text; bytes as base64), read by walking the decoded message: protobufjs's own
 * toObject turns every 64-bit field into text by long division, which took 40% of a DDATA's time for aliases and
 * timestamps that are small numbers. Throws on malformed bytes.
 */
export function decodeFullPayload(bytes: Uint8Array): FullPayload {
  return plain(PayloadType.decode(bytes)) as FullPayload;
}

interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
  toString(): string;
}

const isLong = (value: object): value is LongLike =>
  typeof (value as LongLike).high === 'number' && typeof (value as LongLike).low === 'number' && typeof (value as LongLike).unsigned === 'boolean';
const TWO_32 = 2 ** 32;

function plain(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map(plain);
  if (isLong(value)) {
    const high = value.high >>> 0;
    // below 2^53 the two halves give the exact number; above, the library's own (slow, exact) text, as unsigned
    if (high < 0x200000) return String(high * TWO_32 + (value.low >>> 0));
    return value.unsigned ? value.toString() : BigInt.asUintN(64, (BigInt(high) << 32n) | BigInt(value.low >>> 0)).toString();
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = plain((value as Record<string, unknown>)[key]);
  return out;
}
