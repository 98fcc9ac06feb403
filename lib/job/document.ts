import { M2MError, describeValue } from '../errors';
import { checkDeviceId, deviceIdProblem } from '../ids';
import { isPlainObject } from '../safe';
import { frozenJsonObject } from '../twin/json';
import { checkParams } from '../command/input';
import type { AbortSpec, AttributeCondition, ConditionOp, JobAction, JobDocument, RampSpec, TargetSpec } from './types';

// Reads a job document (msg.payload of a `start`) into a JobDocument: every range checked, defaults filled in.
// Anything wrong is an INVALID_JOB (or EMPTY_TARGET) error naming the field, before anything is started.

export const JOB_LIMITS = {
  maxInFlight: 10_000,
  /** Starts per minute: up to 10,000 a second. */
  perMinute: 600_000,
  retries: 10,
  /** Timeouts, backoffs and deadlines: at most 7 days (a longer Node.js timer fires at once beyond 24.8). */
  durationMs: 7 * 24 * 3600 * 1000,
  listDevices: 100_000,
} as const;

const DEFAULTS = { maxInFlight: 10, perMinute: 600, retries: 0, backoffMs: 1000, timeoutMs: 30_000, deadlineMs: 0 };
const OPS: readonly ConditionOp[] = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'exists'];

function invalid(field: string, text: string): never {
  throw new M2MError('INVALID_JOB', `job ${field} ${text}`, { field });
}

function number(value: unknown, field: string, min: number, max: number, fallback: number | undefined, integer = false): number {
  if (value === undefined || value === null || value === '') {
    if (fallback === undefined) invalid(field, 'is missing');
    return fallback;
  }
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    invalid(field, `must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return n;
}

function object(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) invalid(field, `must be an object, got ${describeValue(value)}`);
  return value;
}

export function checkJobId(value: unknown, field = 'jobId'): string {
  const problem = deviceIdProblem(value);
  if (problem !== undefined || (value as string).length > 64) {
    throw new M2MError('INVALID_JOB', `${field} must be 1 to 64 characters of A-Z a-z 0-9 . _ : -, got ${describeValue(value)}`, { field });
  }
  return value as string;
}

function readTarget(raw: unknown): TargetSpec {
  const target = object(raw, 'target');
  if (!target)
    throw new M2MError('EMPTY_TARGET', 'the job has no target: give target.devices (a list of ids) or a query (target.type, tags, where, online)', {
      field: 'target',
    });
  if (target.devices !== undefined) {
    if (!Array.isArray(target.devices)) invalid('target.devices', 'must be a list of device ids');
    if (target.devices.length === 0)
      throw new M2MError('EMPTY_TARGET', 'target.devices is an empty list: the job would do nothing', { field: 'target.devices' });
    if (target.devices.length > JOB_LIMITS.listDevices) invalid('target.devices', `may list at most ${JOB_LIMITS.listDevices} devices`);
    const devices = [...new Set(target.devices.map((id, i) => checkDeviceId(id, `target.devices[${i}]`)))];
    return { kind: 'list', devices };
  }
  const type =
    target.type === undefined || target.type === ''
      ? undefined
      : typeof target.type === 'string'
        ? target.type
        : invalid('target.type', 'must be a device type name');
  const tagsRaw = target.tags === undefined ? [] : typeof target.tags === 'string' ? [target.tags] : target.tags;
  if (!Array.isArray(tagsRaw) || tagsRaw.some((t) => typeof t !== 'string' || t === '')) invalid('target.tags', 'must be a list of tags');
  const online =
    target.online === undefined || target.online === null
      ? undefined
      : typeof target.online === 'boolean'
        ? target.online
        : invalid('target.online', 'must be true or false');
  const continuous =
    target.continuous === undefined
      ? false
      : typeof target.continuous === 'boolean'
        ? target.continuous
        : invalid('target.continuous', 'must be true or false');
  const where = readCondition(target.where);
  if (type === undefined && tagsRaw.length === 0 && where === undefined && online === undefined) {
    throw new M2MError('EMPTY_TARGET', 'the target names no devices: give target.devices, or at least one of target.type, tags, where, online', {
      field: 'target',
    });
  }
  return { kind: 'query', type, tags: tagsRaw as string[], where, online, continuous };
}

function readCondition(raw: unknown): AttributeCondition | undefined {
  const where = object(raw, 'target.where');
  if (!where) return undefined;
  if (typeof where.attribute !== 'string' || where.attribute === '') invalid('target.where.attribute', 'must name an attribute');
  const op = (where.op ?? 'eq') as ConditionOp;
  if (!OPS.includes(op)) invalid('target.where.op', `must be one of ${OPS.join(', ')}`);
  if (op === 'exists') return { attribute: where.attribute, op };
  const value = where.value;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
    invalid('target.where.value', 'must be a string, number or boolean');
  return { attribute: where.attribute, op, value };
}

function readAction(doc: Record<string, unknown>): JobAction {
  const hasCommand = doc.command !== undefined && doc.command !== '';
  const hasDesired = doc.desired !== undefined;
  if (hasCommand === hasDesired) invalid('command', 'or desired: give exactly one (a command name with params, or a desired-state patch)');
  if (hasDesired) return { kind: 'desired', patch: frozenJsonObject(doc.desired, 'desired', 10) };
  const problem = deviceIdProblem(doc.command);
  if (problem) throw new M2MError('INVALID_COMMAND', `job command ${problem}`, { field: 'command' });
  return { kind: 'command', command: doc.command as string, params: checkParams(doc.params) };
}

function readRamp(raw: unknown, perMinute: number): RampSpec | undefined {
  const ramp = object(raw, 'rollout.ramp');
  if (!ramp) return undefined;
  return {
    startPerMinute: number(ramp.startPerMinute, 'rollout.ramp.startPerMinute', 1, perMinute, Math.max(1, Math.round(perMinute / 8))),
    factor: number(ramp.factor, 'rollout.ramp.factor', 1.1, 10, 2),
    afterSucceeded: number(ramp.afterSucceeded, 'rollout.ramp.afterSucceeded', 1, 1_000_000, 10, true),
    minSuccessPercent: number(ramp.minSuccessPercent, 'rollout.ramp.minSuccessPercent', 0, 100, 90),
  };
}

function readAbort(raw: unknown): AbortSpec | undefined {
  const abort = object(raw, 'abort');
  if (!abort) return undefined;
  const failurePercent = abort.failurePercent === undefined ? undefined : number(abort.failurePercent, 'abort.failurePercent', 0, 100, undefined);
  const timeoutPercent = abort.timeoutPercent === undefined ? undefined : number(abort.timeoutPercent, 'abort.timeoutPercent', 0, 100, undefined);
  if (failurePercent === undefined && timeoutPercent === undefined) invalid('abort', 'needs failurePercent or timeoutPercent');
  return { failurePercent, timeoutPercent, minFinished: number(abort.minFinished, 'abort.minFinished', 1, 1_000_000, 10, true) };
}

/** Checks a job document; `newJobId` names a job that has no jobId. */
export function readJobDocument(raw: unknown, newJobId: () => string): JobDocument {
  if (!isPlainObject(raw))
    throw new M2MError('INVALID_JOB', 'the job document (msg.payload of start) must be an object { target, command, params } or { target, desired }', {
      field: 'payload',
    });
  const jobId = raw.jobId === undefined || raw.jobId === '' ? newJobId() : checkJobId(raw.jobId);
  const target = readTarget(raw.target);
  const action = readAction(raw);
  const rollout = object(raw.rollout, 'rollout') ?? {};
  const perMinute = number(rollout.perMinute, 'rollout.perMinute', 1, JOB_LIMITS.perMinute, DEFAULTS.perMinute);
  return {
    jobId,
    target,
    action,
    maxInFlight: number(rollout.maxInFlight, 'rollout.maxInFlight', 1, JOB_LIMITS.maxInFlight, DEFAULTS.maxInFlight, true),
    perMinute,
    ramp: readRamp(rollout.ramp, perMinute),
    abort: readAbort(raw.abort),
    retries: number(raw.retries, 'retries', 0, JOB_LIMITS.retries, DEFAULTS.retries, true),
    backoffMs: number(raw.backoff, 'backoff', 0, JOB_LIMITS.durationMs, DEFAULTS.backoffMs),
    timeoutMs: number(raw.timeout, 'timeout', 1, JOB_LIMITS.durationMs, DEFAULTS.timeoutMs),
    deadlineMs: number(raw.deadline, 'deadline', 0, JOB_LIMITS.durationMs, DEFAULTS.deadlineMs),
  };
}
