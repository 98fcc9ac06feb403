import type { JsonataField } from '../config/jsonata-field';
import type { JsonSchema } from '../schema';
import type { BinaryFieldSpec } from './binary';
import type { DecodeInput, DeviceIdFrom, InnerFormat, SenmlEncoding, TelemetryDecoderConfig } from './decoder';
import { CODES, describeType, fail, setMetric } from './fail';
import { toParsed } from './input';
import { readId } from './json';
import type { KvMode } from './kv';
import { compilePath, type CompiledPath, readPath } from './path';
import type { SchemaSource } from './validate';
import { type ByteEncoding, type Format, type Limits, type Metrics } from './types';
import { isScalar, toTimestampMs } from './values';

// The node's saved properties, as nodes/m2m-telemetry/config.ts read them (defaults filled, enums and ranges
// checked there, once), turned into a decoder config: what depends on other properties is checked here, at deploy.

export type Validation = 'none' | 'inline' | 'registry';
/** How a field names where a value is: a dotted path into the payload (the fast reader) or a JSONata expression. */
export type FieldType = 'path' | 'jsonata';

export interface MappingRow {
  metric: string;
  path: string;
  /** Missing in rows saved before JSONata: a path. */
  type?: FieldType;
}

export interface TelemetryNodeProperties {
  format: Format;
  encoding: ByteEncoding;
  senmlEncoding: SenmlEncoding;
  mapping: readonly MappingRow[];
  timestampPath: string;
  timestampPathType: FieldType;
  binarySpec: ReadonlyArray<Record<string, unknown>>;
  kvMode: KvMode;
  innerFormat: InnerFormat;
  deviceIdFrom: DeviceIdFrom;
  topicPattern: string;
  deviceIdPath: string;
  deviceIdPathType: FieldType;
  fixedDeviceId: string;
  validation: Validation;
  /** A JSON Schema, as JSON text (or an object, in a flow written by hand). */
  schema: unknown;
  maxBytes: number;
  maxRecords: number;
  maxMetrics: number;
}

export type { JsonataField } from '../config/jsonata-field';

/**
 * What the node reads itself, before the decoder, when a field is JSONata. With a JSONata mapping row the node reads
 * every mapped field (paths too) and hands the decoder one record of metrics; otherwise only the JSONata fields.
 */
export interface MessageFields {
  deviceId?: JsonataField;
  timestamp?: JsonataField;
  /** Set when a mapping row is JSONata: every row, a path compiled or an expression. */
  mapping?: ReadonlyArray<{ metric: string; path?: CompiledPath; jsonata?: JsonataField }>;
  /** With a JSONata mapping, the paths the decoder would have read. */
  timestampPath?: CompiledPath;
  deviceIdPath?: CompiledPath;
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

function usedRows(def: TelemetryNodeProperties): MappingRow[] {
  return def.mapping.filter((m) => text(m.metric) || text(m.path));
}

function expression(value: string, field: string): JsonataField {
  const source = text(value);
  if (source === undefined) fail(CODES.config, `${field} must hold a JSONata expression`, field);
  return { field, expression: source };
}

/** The fields of this config that the node reads per message (JSONata, and with a JSONata mapping its paths too). */
export function messageFields(def: TelemetryNodeProperties): MessageFields {
  const fields: MessageFields = {};
  const idFromPath = def.deviceIdFrom === 'path';
  if (idFromPath && def.deviceIdPathType === 'jsonata') fields.deviceId = expression(def.deviceIdPath, 'deviceIdPath');
  if (def.timestampPathType === 'jsonata' && text(def.timestampPath)) fields.timestamp = expression(def.timestampPath, 'timestampPath');
  const rows = usedRows(def);
  if (rows.some((row) => row.type === 'jsonata')) {
    if (def.format !== 'json') fail(CODES.config, `a JSONata mapping is for format json, not ${def.format}`, 'mapping');
    fields.mapping = rows.map((row, i) => {
      const metric = text(row.metric);
      if (metric === undefined) fail(CODES.config, `mapping row ${i + 1} has no metric name`, `mapping[${i}]`);
      const field = `mapping[${i}].path`;
      return row.type === 'jsonata' ? { metric, jsonata: expression(row.path, field) } : { metric, path: compilePath(row.path, field) };
    });
    if (!fields.timestamp && text(def.timestampPath)) fields.timestampPath = compilePath(def.timestampPath, 'timestampPath');
    if (idFromPath && !fields.deviceId) fields.deviceIdPath = compilePath(def.deviceIdPath, 'deviceIdPath');
  }
  return fields;
}

/** The JSONata fields among them, each once: the device id, the timestamp and the mapping rows written as JSONata. */
export function jsonataFieldsOf(fields: MessageFields): JsonataField[] {
  return [fields.deviceId, fields.timestamp, ...(fields.mapping ?? []).map((row) => row.jsonata)].filter((f): f is JsonataField => f !== undefined);
}

export function decoderConfigFromNode(def: TelemetryNodeProperties, schemaFor?: SchemaSource): TelemetryDecoderConfig {
  let schema: JsonSchema | undefined;
  if (def.validation === 'inline') {
    schema = jsonProperty(def.schema, 'schema') as JsonSchema | undefined;
    if (schema === undefined || (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema)))) {
      fail(CODES.config, 'schema must be a JSON Schema object', 'schema');
    }
  }
  if (def.validation === 'registry' && !schemaFor) fail(CODES.config, 'validation against the registry needs an m2m-registry', 'registry');
  const own = messageFields(def);
  // what the node reads itself comes to the decoder as msg.deviceId, as the time of the message, or as the metrics
  const nodeReadsId = own.deviceId !== undefined || own.deviceIdPath !== undefined;
  const nodeReadsTime = own.timestamp !== undefined || own.mapping !== undefined;
  return {
    format: def.format,
    encoding: def.encoding,
    senmlEncoding: def.senmlEncoding,
    mapping: own.mapping ? undefined : usedRows(def),
    timestampPath: nodeReadsTime ? undefined : text(def.timestampPath),
    binarySpec: def.binarySpec as unknown as BinaryFieldSpec[],
    kvMode: def.kvMode,
    innerFormat: def.innerFormat,
    deviceIdFrom: nodeReadsId ? 'msg' : def.deviceIdFrom,
    topicPattern: text(def.topicPattern),
    deviceIdPath: nodeReadsId ? undefined : text(def.deviceIdPath),
    fixedDeviceId: text(def.fixedDeviceId),
    limits: { maxBytes: def.maxBytes, maxRecords: def.maxRecords, maxMetrics: def.maxMetrics },
    schema,
    schemaFor: def.validation === 'registry' ? schemaFor : undefined,
  };
}

/**
 * The decoder's input for one message, from the node's own reads: `evaluated` holds each JSONata field's result by
 * its field name. Paths of a JSONata mapping are read here from the parsed payload, which must be one object.
 */
export function decodeInputWith(fields: MessageFields, input: DecodeInput, evaluated: ReadonlyMap<string, unknown>, limits: Limits): DecodeInput {
  const result: DecodeInput = { ...input };
  let root: unknown;
  if (fields.mapping) {
    root = toParsed(input.payload, limits);
    if (root === null || typeof root !== 'object' || Array.isArray(root)) {
      fail(CODES.badPayload, `with a JSONata mapping the payload must be one JSON object, got ${describeType(root)}`, 'payload');
    }
    const metrics: Metrics = {};
    for (const row of fields.mapping) {
      const field = row.jsonata?.field ?? row.metric;
      const value = row.jsonata ? evaluated.get(row.jsonata.field) : readPath(root, row.path as CompiledPath);
      if (value === undefined) continue;
      if (!isScalar(value))
        fail(CODES.badPayload, `${field} (metric "${row.metric}") must give a number, string or boolean, got ${describeType(value)}`, field);
      setMetric(metrics, row.metric, value);
    }
    result.payload = metrics;
  }
  if (fields.timestamp) {
    const value = evaluated.get(fields.timestamp.field);
    if (value !== undefined) result.now = toTimestampMs(value, fields.timestamp.field);
  } else if (fields.timestampPath) {
    const value = readPath(root, fields.timestampPath);
    if (value !== undefined) result.now = toTimestampMs(value, 'timestampPath');
  }
  if (fields.deviceId) {
    const id = evaluated.get(fields.deviceId.field);
    result.deviceId = typeof id === 'number' && Number.isFinite(id) ? String(id) : id;
    if (result.deviceId === undefined) fail(CODES.noDeviceId, `deviceIdPath (JSONata) gave nothing for this message`, 'deviceIdPath');
  } else if (fields.deviceIdPath) {
    result.deviceId = readId(root, fields.deviceIdPath);
  }
  return result;
}
