import { M2MError } from '../errors';
import { isPlainObject } from '../safe';
import { EXECUTION_STATES, type ExecutionState, type JobDocument, type JobState } from './types';

// Persisted job state: one record per job (its document, written at start and on each change of the job's state),
// its resolved targets (written once, at the start), and one record per device and job once its execution has
// started (state, attempt, command id), so a restart resumes each device where it stopped. All carry a format
// version `v`.

export const JOB_RECORD_VERSION = 1;

export const JOB_PREFIX = 'job:';
export const EXECUTION_PREFIX = 'x:';
export const TARGETS_PREFIX = 't:';

export function targetsKey(jobId: string): string {
  return TARGETS_PREFIX + jobId;
}

export function jobKey(jobId: string): string {
  return JOB_PREFIX + jobId;
}

export function executionKey(jobId: string, deviceId: string): string {
  return `${EXECUTION_PREFIX}${jobId}/${deviceId}`;
}

/** A job as stored under `job:<id>`; its targets are stored apart, once. */
export interface StoredJob {
  v: number;
  doc: JobDocument;
  state: JobState;
  reason: string | null;
  startedAt: number;
  endedAt: number | null;
  rampStep: number;
}

export interface JobRecord extends StoredJob {
  /** The devices resolved at start, in rollout order (stored under `t:<id>`). */
  targets: string[];
}

export interface StoredTargets {
  v: number;
  jobId: string;
  targets: string[];
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
    throw new M2MError(
      'STORE_TOO_NEW',
      `job record ${key} has format ${v}, written by a newer version of the pack; this one reads up to ${JOB_RECORD_VERSION}`,
      { field: 'store' },
    );
  }
  return undefined;
}

const JOB_STATES: readonly JobState[] = ['in-progress', 'paused', 'completed', 'aborted', 'canceled'];

/** Reads a job and its targets (`targets`: the value stored under its targets key). */
export function readJobRecord(key: string, value: unknown, targets: unknown): Read<JobRecord> {
  if (!isPlainObject(value)) return { unreadable: 'not an object' };
  const bad = checkVersion(key, value);
  if (bad) return { unreadable: bad };
  const r = value as Partial<StoredJob>;
  if (
    !isPlainObject(r.doc) ||
    typeof r.doc.jobId !== 'string' ||
    !JOB_STATES.includes(r.state as JobState) ||
    typeof r.startedAt !== 'number' ||
    typeof r.rampStep !== 'number'
  ) {
    return { unreadable: 'fields missing or of the wrong type' };
  }
  if (jobKey(r.doc.jobId) !== key) return { unreadable: 'its job id differs from its key' };
  if (!isPlainObject(targets)) return { unreadable: 'its targets are missing' };
  const badTargets = checkVersion(targetsKey(r.doc.jobId), targets);
  if (badTargets) return { unreadable: `its targets: ${badTargets}` };
  if (!Array.isArray(targets.targets) || targets.jobId !== r.doc.jobId) return { unreadable: 'its targets are not a list of this job' };
  return { record: { ...(value as unknown as StoredJob), targets: targets.targets as string[] } };
}

export function readExecutionRecord(key: string, value: unknown): Read<ExecutionRecord> {
  if (!isPlainObject(value)) return { unreadable: 'not an object' };
  const bad = checkVersion(key, value);
  if (bad) return { unreadable: bad };
  const r = value as Partial<ExecutionRecord>;
  if (
    typeof r.jobId !== 'string' ||
    typeof r.deviceId !== 'string' ||
    !EXECUTION_STATES.includes(r.state as ExecutionState) ||
    typeof r.attempts !== 'number' ||
    typeof r.dueAt !== 'number'
  ) {
    return { unreadable: 'fields missing or of the wrong type' };
  }
  if (executionKey(r.jobId, r.deviceId) !== key) return { unreadable: 'its ids differ from its key' };
  return { record: value as unknown as ExecutionRecord };
}
