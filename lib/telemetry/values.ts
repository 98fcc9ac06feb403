import { describeValue } from '../errors';
import { isHostileKey } from '../safe';
import { CODES, describeType, fail, setMetric } from './fail';
import type { Metrics } from './types';

// Shared value handling: timestamps in any common shape, and flattening nested objects into flat metrics.

/** Numbers below this are taken as seconds since epoch (1e11 s is the year 5138; 1e11 ms is 1973). */
const SECONDS_BELOW = 1e11;
const MAX_TIME_MS = 8.64e15;

/** A timestamp as ms since epoch from ms or s numbers, numeric strings or ISO 8601 text. */
export function toTimestampMs(value: unknown, field: string): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = Math.abs(value) < SECONDS_BELOW ? value * 1000 : value;
  } else if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    ms = Number.isFinite(n) ? (Math.abs(n) < SECONDS_BELOW ? n * 1000 : n) : Date.parse(value);
  } else {
    return fail(CODES.badPayload, `${field} must be a time (ms or s number, or ISO 8601 text), got ${describeType(value)}`, field);
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) {
    fail(CODES.badPayload, `${field} is not a valid time: ${describeValue(value)}`, field);
  }
  return Math.round(ms);
}

export function isScalar(value: unknown): value is number | string | boolean {
  const t = typeof value;
  return (t === 'number' && Number.isFinite(value as number)) || t === 'string' || t === 'boolean';
}

const MAX_DEPTH = 4;

/**
 * Copies the number, string and boolean fields of `source` into `target`; nested objects become
 * `outer_inner` names (so TTN's `accelerometer_6: {x}` reads `accelerometer_6_x`). Arrays and nulls are skipped.
 * Returns how many metrics were written (`before`: how many the outer levels wrote, for the metric cap).
 */
export function flattenScalars(
  target: Metrics,
  source: object,
  skip: ReadonlySet<string> | undefined,
  maxMetrics: number,
  prefix = '',
  depth = 0,
  before = 0,
): number {
  let count = 0;
  const record = source as Record<string, unknown>;
  for (const key in record) {
    const name = prefix === '' ? key : `${prefix}_${key}`;
    if (skip !== undefined && skip.has(name)) continue;
    const value = record[key];
    if (isScalar(value)) {
      setMetric(target, name, value, name);
      count++;
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array) && depth < MAX_DEPTH) {
      if (isHostileKey(key)) fail(CODES.hostileKey, `key "${key}" is not allowed`, name);
      count += flattenScalars(target, value, skip, maxMetrics, name, depth + 1, before + count);
    }
    if (before + count > maxMetrics) tooManyMetrics(maxMetrics, 'a record');
  }
  return count;
}

export function tooManyMetrics(max: number, where: string): never {
  return fail(CODES.tooManyRecords, `${where} has more than ${max} metrics (metric cap)`, 'payload', { max });
}

/** The metric cap, shared by every format: one record carries at most `max` metrics. */
export function checkMetricCap(payload: Metrics, max: number, deviceId: string): void {
  let count = 0;
  for (const _ in payload) if (++count > max) tooManyMetrics(max, `the record of ${deviceId}`);
}
