import { M2MError } from '../errors';
import { isHostileKey } from '../safe';
import type { MetricValue, Metrics } from './types';

// Error codes a flow can switch on (msg.error.code).
export const CODES = {
  tooLarge: 'PAYLOAD_TOO_LARGE',
  tooManyRecords: 'TOO_MANY_RECORDS',
  tooManyDevices: 'TOO_MANY_DEVICES',
  badPayload: 'INVALID_PAYLOAD',
  shortFrame: 'FRAME_TOO_SHORT',
  hostileKey: 'HOSTILE_KEY',
  noDeviceId: 'INVALID_DEVICE_ID',
  config: 'INVALID_CONFIG',
} as const;

export function fail(code: string, message: string, field?: string, details?: unknown): never {
  throw new M2MError(code, message, { field, details });
}

/** Sets one metric, refusing keys that would reach a prototype. */
export function setMetric(payload: Metrics, name: string, value: MetricValue, field = name): void {
  if (isHostileKey(name)) fail(CODES.hostileKey, `metric name "${name}" is not allowed`, field);
  payload[name] = value;
}

export function tooManyRecords(count: number, max: number, what = 'records'): never {
  return fail(CODES.tooManyRecords, `payload has more than ${max} ${what} (record cap)`, 'payload', { count });
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value;
}
