import { M2MError } from '../errors';
import { isPlainObject } from '../safe';
import { EXECUTION_STATES, type ExecutionState, type JobDocument, type JobState } from './types';

// Persisted job state: one record per job (its document and resolved targets, written at start and on each change
// of the job's state) and one per device and job once its execution has started (state, attempt, command id),
// so a restart resumes each device where it stopped. Both carry a format version `v`.

export const JOB_RECORD_VERSION = 1;

export const JOB_PREFIX = 'job:';
export const EXECUTION_PREFIX = 'x:';

export function jobKey(jobId: string): string {
  return JOB_PREFIX + jobId;
}

export function executionKey(jobId: string, deviceId: string): string {
  return `${EXECUTION_PREFIX}${jobId}/${deviceId}`;
}

export interface JobRecord {
  v: number;
  doc: JobDocument;
  /** The devices resolved at start, in rollout order. */
  targets: string[];
  state: JobState;
  reason: string | null;
  startedAt: number;
  endedAt: number | null;
  rampStep: number;
}

export interface ExecutionRecord {
  v: number;
  jobId: string;
  deviceId: string;
  state: ExecutionState;
  attempts: number;
  /** The command of the current attempt: an outcome with this id resolves the execution after a restart. */
  commandId: string | null;
  /** `sent`: waiting for the outcome until dueAt; `backoff`: the next attempt is due at dueAt. */
  phase: 'sent' | 'backoff' | null;
  dueAt: number;
  /** The result of the last attempt, for an execution waiting to retry. */
  lastState: ExecutionState | null;
  error: string | null;
  updatedAt: number;
}

export type Read<T> = { record: T } | { unreadable: string };

function checkVersion(key: string, value: Record<string, unknown>): string | undefined {
  const v = value.v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) return `format version ${JSON.stringify(v)} is not a version`;
  if (v > JOB_RECORD_VERSION) {
    throw new M2MError('STORE_TOO_NEW', `job record ${key} has format ${v}, written by a newer version of the pack; this one reads up to ${JOB_RECORD_VERSION}`, { field: 'store' });
  }
  return undefined;
}

const JOB_STATES: readonly JobState[] = ['in-progress', 'paused', 'completed', 'aborted', 'canceled'];

export function readJobRecord(key: string, value: unknown): Read<JobRecord> {
  if (!isPlainObject(value)) return { unreadable: 'not an object' };
  const bad = checkVersion(key, value);
  if (bad) return { unreadable: bad };
  const r = value as Partial<JobRecord>;
  if (!isPlainObject(r.doc) || typeof r.doc.jobId !== 'string' || !Array.isArray(r.targets) || !JOB_STATES.includes(r.state as JobState) || typeof r.startedAt !== 'number' || typeof r.rampStep !== 'number') {
    return { unreadable: 'fields missing or of the wrong type' };
  }
  if (jobKey(r.doc.jobId) !== key) return { unreadable: 'its job id differs from its key' };
  return { record: value as unknown as JobRecord };
}

export function readExecutionRecord(key: string, value: unknown): Read<ExecutionRecord> {
  if (!isPlainObject(value)) return { unreadable: 'not an object' };
  const bad = checkVersion(key, value);
  if (bad) return { unreadable: bad };
  const r = value as Partial<ExecutionRecord>;
  if (typeof r.jobId !== 'string' || typeof r.deviceId !== 'string' || !EXECUTION_STATES.includes(r.state as ExecutionState) || typeof r.attempts !== 'number' || typeof r.dueAt !== 'number') {
    return { unreadable: 'fields missing or of the wrong type' };
  }
  if (executionKey(r.jobId, r.deviceId) !== key) return { unreadable: 'its ids differ from its key' };
  return { record: value as unknown as ExecutionRecord };
}
