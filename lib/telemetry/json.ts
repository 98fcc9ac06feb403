import { CODES, describeType, fail, setMetric, tooManyRecords } from './fail';
import { type CompiledPath, pathText, readPath } from './path';
import type { Limits, Metrics, TelemetryRecord } from './types';
import { flattenScalars, isScalar, toTimestampMs } from './values';

// `json`: an object's scalar fields (nested objects flattened), or a mapping of metric name to path.

export interface JsonMapping {
  metric: string;
  path: CompiledPath;
}

export interface JsonOptions {
  mapping?: readonly JsonMapping[];
  timestampPath?: CompiledPath;
  /** Where the device id is, when the node reads it from the payload. */
  idPath?: CompiledPath;
}

export interface CompiledJsonOptions extends JsonOptions {
  /** Flattened names of the timestamp and id fields, kept out of the metrics. */
  skip: ReadonlySet<string>;
  /** The timestamp path as text, for error messages (built once, not per message). */
  timestampField?: string;
}

export function compileJsonOptions(options: JsonOptions): CompiledJsonOptions {
  const skip = new Set<string>();
  for (const path of [options.timestampPath, options.idPath]) {
    if (path) skip.add(path.join('_'));
  }
  return { ...options, skip, timestampField: options.timestampPath && pathText(options.timestampPath) };
}

/** Decodes one parsed JSON value: an object is one record, an array of objects is one record each. */
export function decodeJson(root: unknown, now: number, limits: Limits, options: CompiledJsonOptions): TelemetryRecord[] {
  if (Array.isArray(root)) {
    if (root.length === 0) fail(CODES.badPayload, 'payload is an empty list', 'payload');
    if (root.length > limits.maxRecords) tooManyRecords(root.length, limits.maxRecords);
    const records: TelemetryRecord[] = [];
    for (let i = 0; i < root.length; i++) records.push(decodeJsonObject(root[i], now, limits, options, `payload[${i}]`));
    return records;
  }
  return [decodeJsonObject(root, now, limits, options, 'payload')];
}

export function decodeJsonObject(value: unknown, now: number, limits: Limits, options: CompiledJsonOptions, field: string): TelemetryRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(CODES.badPayload, `${field} must be a JSON object, got ${describeType(value)}`, field);
  }
  const payload: Metrics = {};
  if (options.mapping) {
    for (const { metric, path } of options.mapping) {
      const v = readPath(value, path);
      if (v === undefined) continue;
      if (!isScalar(v))
        fail(CODES.badPayload, `${field}.${pathText(path)} (metric "${metric}") must be a number, string or boolean, got ${describeType(v)}`, pathText(path));
      setMetric(payload, metric, v);
    }
  } else {
    flattenScalars(payload, value, options.skip, limits.maxMetrics);
  }
  let timestamp = now;
  if (options.timestampPath) {
    const t = readPath(value, options.timestampPath);
    if (t !== undefined) timestamp = toTimestampMs(t, options.timestampField as string);
  }
  const record: TelemetryRecord = { timestamp, payload };
  if (options.idPath) record.deviceId = readId(value, options.idPath);
  if (!hasMetrics(payload)) fail(CODES.badPayload, `${field} has no number, string or boolean fields to report`, field);
  return record;
}

export function readId(root: unknown, path: CompiledPath): string {
  const id = readPath(root, path);
  if (typeof id === 'string') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return fail(
    CODES.noDeviceId,
    `device id path "${pathText(path)}" ${id === undefined ? 'is missing' : `must be a string, got ${describeType(id)}`}`,
    pathText(path),
  );
}

export function hasMetrics(payload: Metrics): boolean {
  for (const _ in payload) return true;
  return false;
}
