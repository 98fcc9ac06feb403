// Checks what comes into the admin API: ids in paths, query parameters and bodies. Every problem is an
// M2MError naming the field, answered 400.
import { M2MError } from '../errors';
import { deviceIdProblem } from '../ids';
import { isPlainObject } from '../safe';
import { SEVERITIES, type Severity } from '../rules/types';
import type { AlarmOp, DeviceSearch } from './types';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const MAX_TEXT = 128;
// the rule engine's rule names: no MQTT level separator or wildcard, no control characters
const RULE_NAME = /^[^/+#\p{Cc}]{1,64}$/u;
export const ALARM_OPS: readonly AlarmOp[] = ['ack', 'shelve', 'unshelve', 'reset'];

/** A device, node or command id in a path: the device id contract of lib/ids.ts. */
export function checkPathId(value: unknown, field: string): string {
  const problem = deviceIdProblem(value);
  if (problem) throw new M2MError(field === 'deviceId' ? 'INVALID_DEVICE_ID' : 'INVALID_FIELD', `${field} ${problem}`, { field });
  return value as string;
}

export function checkRuleName(value: unknown): string {
  if (typeof value !== 'string' || !RULE_NAME.test(value)) {
    throw new M2MError('INVALID_FIELD', 'rule must be 1 to 64 characters without / + # or control characters', { field: 'rule' });
  }
  return value;
}

export function checkAlarmOp(value: unknown): AlarmOp {
  if (!ALARM_OPS.includes(value as AlarmOp)) throw new M2MError('INVALID_FIELD', `the operation must be one of ${ALARM_OPS.join(', ')}`, { field: 'op' });
  return value as AlarmOp;
}

type Query = Record<string, unknown>;

/** A query parameter given once as text, or undefined; `?a=1&a=2` and `?a[b]=1` are refused. */
function text(query: Query, field: string): string | undefined {
  const value = query[field];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new M2MError('INVALID_FIELD', `${field} must be given once, as text`, { field });
  if (value.length > MAX_TEXT) throw new M2MError('INVALID_FIELD', `${field} must be at most ${MAX_TEXT} characters`, { field });
  return value;
}

function bool(query: Query, field: string): boolean | undefined {
  const value = text(query, field);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new M2MError('INVALID_FIELD', `${field} must be true or false, got ${JSON.stringify(value)}`, { field });
  return value === 'true';
}

function whole(query: Query, field: string, fallback: number, min: number, max: number): number {
  const value = text(query, field);
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new M2MError('INVALID_FIELD', `${field} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`, { field });
  }
  return n;
}

export interface Paging {
  offset: number;
  limit: number;
}

export function parsePaging(query: Query): Paging {
  return { offset: whole(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER), limit: whole(query, 'limit', DEFAULT_LIMIT, 1, MAX_LIMIT) };
}

/** `?type=&tag=&online=&q=&offset=&limit=` of the devices page. */
export function parseDeviceSearch(query: Query): DeviceSearch {
  return { type: text(query, 'type'), tag: text(query, 'tag'), online: bool(query, 'online'), q: text(query, 'q'), ...parsePaging(query) };
}

export interface AlarmQuery extends Paging {
  registry?: string;
  deviceId?: string;
  severity?: Severity;
  acknowledged?: boolean;
}

/** `?registry=&deviceId=&severity=&acknowledged=&offset=&limit=` of the alarm list. */
export function parseAlarmQuery(query: Query): AlarmQuery {
  const registry = text(query, 'registry');
  const deviceId = text(query, 'deviceId');
  const severity = text(query, 'severity');
  if (severity !== undefined && !SEVERITIES.includes(severity as Severity)) {
    throw new M2MError('INVALID_FIELD', `severity must be one of ${SEVERITIES.join(', ')}`, { field: 'severity' });
  }
  return {
    registry: registry === undefined ? undefined : checkPathId(registry, 'registry'),
    deviceId: deviceId === undefined ? undefined : checkPathId(deviceId, 'deviceId'),
    severity: severity as Severity | undefined,
    acknowledged: bool(query, 'acknowledged'),
    ...parsePaging(query),
  };
}

export interface CommandQuery extends Paging {
  deviceId?: string;
}

export function parseCommandQuery(query: Query): CommandQuery {
  const deviceId = text(query, 'deviceId');
  return { deviceId: deviceId === undefined ? undefined : checkPathId(deviceId, 'deviceId'), ...parsePaging(query) };
}

export interface JobQuery extends Paging {
  /** Only running jobs (in-progress or paused), or only ended ones. */
  running?: boolean;
}

/** `?running=&offset=&limit=` of the job list. */
export function parseJobQuery(query: Query): JobQuery {
  return { running: bool(query, 'running'), ...parsePaging(query) };
}

/** The JSON body of a change: nothing, or an object. `present` says whether the request carried a body at all. */
export function checkBody(body: unknown, present: boolean, isJson: boolean): Record<string, unknown> {
  if (!present) return {};
  if (!isJson) throw new M2MError('INVALID_FIELD', 'the body must be JSON (Content-Type: application/json)', { field: 'body' });
  if (!isPlainObject(body)) throw new M2MError('INVALID_FIELD', 'the body must be a JSON object', { field: 'body' });
  return body;
}

/** Shelving time in seconds, from the body of a shelve; undefined for the rule node's default. */
export function shelveDuration(body: Record<string, unknown>): number | undefined {
  const duration = body.duration;
  if (duration === undefined) return undefined;
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0 || duration > 366 * 24 * 3600) {
    throw new M2MError('INVALID_FIELD', `duration must be a number of seconds above 0 and at most a year, got ${JSON.stringify(duration)}`, {
      field: 'duration',
    });
  }
  return duration;
}
