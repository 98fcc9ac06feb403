import type { JsonSchema } from '../schema';
import type { BinaryFieldSpec } from './binary';
import type { DeviceIdFrom, InnerFormat, SenmlEncoding, TelemetryDecoderConfig } from './decoder';
import { CODES, fail } from './fail';
import type { KvMode } from './kv';
import type { SchemaSource } from './validate';
import { type ByteEncoding, type Format } from './types';

// The node's saved properties (strings from the editor) turned into a decoder config, checked once at deploy.

export type Validation = 'none' | 'inline' | 'registry';

export interface TelemetryNodeProperties {
  format?: unknown;
  encoding?: unknown;
  senmlEncoding?: unknown;
  mapping?: unknown;
  timestampPath?: unknown;
  binarySpec?: unknown;
  kvMode?: unknown;
  innerFormat?: unknown;
  deviceIdFrom?: unknown;
  topicPattern?: unknown;
  deviceIdPath?: unknown;
  fixedDeviceId?: unknown;
  validation?: unknown;
  schema?: unknown;
  maxBytes?: unknown;
  maxRecords?: unknown;
  maxMetrics?: unknown;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, field: string): T {
  if (value === undefined || value === '') return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  return fail(CODES.config, `${field} "${String(value)}" is not one of ${allowed.join(', ')}`, field);
}

function jsonProperty(value: unknown, field: string): unknown {
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch (err) {
    return fail(CODES.config, `${field} is not valid JSON: ${(err as Error).message}`, field);
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function positive(value: unknown, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(CODES.config, `${field} must be a positive whole number`, field);
  return n;
}

function rows<T>(value: unknown, field: string): T[] | undefined {
  const parsed = jsonProperty(value, field);
  if (parsed === undefined) return undefined;
  if (!Array.isArray(parsed)) fail(CODES.config, `${field} must be a list`, field);
  return parsed as T[];
}

export function decoderConfigFromNode(def: TelemetryNodeProperties, schemaFor?: SchemaSource): TelemetryDecoderConfig {
  const format = oneOf<Format>(def.format, ['json', 'senml', 'lpp', 'binary', 'kv', 'sparkplug', 'ttn', 'chirpstack'], 'json', 'format');
  const validation = oneOf<Validation>(def.validation, ['none', 'inline', 'registry'], 'none', 'validation');
  let schema: JsonSchema | undefined;
  if (validation === 'inline') {
    schema = jsonProperty(def.schema, 'schema') as JsonSchema | undefined;
    if (schema === undefined || (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema)))) {
      fail(CODES.config, 'schema must be a JSON Schema object', 'schema');
    }
  }
  if (validation === 'registry' && !schemaFor) fail(CODES.config, 'validation against the registry needs an m2m-registry', 'registry');
  const binarySpec = rows<BinaryFieldSpec>(def.binarySpec, 'binarySpec');
  return {
    format,
    encoding: oneOf<ByteEncoding>(def.encoding, ['auto', 'hex', 'base64'], 'auto', 'encoding'),
    senmlEncoding: oneOf<SenmlEncoding>(def.senmlEncoding, ['auto', 'json', 'cbor'], 'auto', 'senmlEncoding'),
    mapping: rows<{ metric: string; path: string }>(def.mapping, 'mapping')?.filter((m) => text(m.metric) || text(m.path)),
    timestampPath: text(def.timestampPath),
    binarySpec,
    kvMode: oneOf<KvMode>(def.kvMode, ['auto', 'pairs', 'csv'], 'auto', 'kvMode'),
    innerFormat: oneOf<InnerFormat>(def.innerFormat, ['decoded', 'lpp', 'binary', 'json', 'kv'], 'decoded', 'innerFormat'),
    deviceIdFrom: oneOf<DeviceIdFrom>(def.deviceIdFrom, ['auto', 'topic', 'path', 'fixed', 'msg'], 'auto', 'deviceIdFrom'),
    topicPattern: text(def.topicPattern),
    deviceIdPath: text(def.deviceIdPath),
    fixedDeviceId: text(def.fixedDeviceId),
    limits: { maxBytes: positive(def.maxBytes, 'maxBytes'), maxRecords: positive(def.maxRecords, 'maxRecords'), maxMetrics: positive(def.maxMetrics, 'maxMetrics') },
    schema,
    schemaFor: validation === 'registry' ? schemaFor : undefined,
  };
}
