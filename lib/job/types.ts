import type { JsonObject } from '../twin/json';

/** One device's part of a job. `queued` until started; the last six are final. */
export type ExecutionState = 'queued' | 'in-progress' | 'succeeded' | 'failed' | 'timed-out' | 'rejected' | 'canceled' | 'skipped';
export const EXECUTION_STATES: readonly ExecutionState[] = ['queued', 'in-progress', 'succeeded', 'failed', 'timed-out', 'rejected', 'canceled', 'skipped'];
export const FINAL_STATES: ReadonlySet<ExecutionState> = new Set(['succeeded', 'failed', 'timed-out', 'rejected', 'canceled', 'skipped']);

/** `in-progress` and `paused` are running; the other three are final. */
export type JobState = 'in-progress' | 'paused' | 'completed' | 'aborted' | 'canceled';

/** Which devices a job goes to: a query over the registry, or a list. */
export type TargetSpec =
  { kind: 'list'; devices: string[] } | { kind: 'query'; type?: string; tags: string[]; where?: AttributeCondition; online?: boolean; continuous: boolean };

export type ConditionOp = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'exists';
export interface AttributeCondition {
  attribute: string;
  op: ConditionOp;
  value?: string | number | boolean;
}

/** What each device gets: a command (through m2m-command) or a desired-state patch (through m2m-twin). */
export type JobAction = { kind: 'command'; command: string; params: unknown } | { kind: 'desired'; patch: JsonObject };

export interface RampSpec {
  /** Starts per minute at first. */
  startPerMinute: number;
  /** The rate is multiplied by this at each step up. */
  factor: number;
  /** Successes at the current rate before the next step up. */
  afterSucceeded: number;
  /** Steps up only while at least this share of finished devices succeeded. */
  minSuccessPercent: number;
}

export interface AbortSpec {
  /** Failed, rejected and timed-out devices, as a share of finished ones. */
  failurePercent?: number;
  /** Timed-out devices alone, as a share of finished ones. */
  timeoutPercent?: number;
  /** The criteria are checked only once this many devices have finished. */
  minFinished: number;
}

/** A job document, checked and with its defaults filled in. */
export interface JobDocument {
  jobId: string;
  target: TargetSpec;
  action: JobAction;
  maxInFlight: number;
  perMinute: number;
  ramp?: RampSpec;
  abort?: AbortSpec;
  retries: number;
  backoffMs: number;
  timeoutMs: number;
  /** Devices still offline this long after the job started are `skipped`; 0: offline devices are not waited for. */
  deadlineMs: number;
}

/** Output 1: a command for m2m-command, or a desired patch for m2m-twin. */
export type SendRequest =
  | {
      kind: 'command';
      jobId: string;
      deviceId: string;
      command: string;
      params: unknown;
      commandId: string;
      timeoutMs: number;
      attempt: number;
      resume?: boolean;
    }
  | { kind: 'desired'; jobId: string; deviceId: string; patch: JsonObject; attempt: number };

/** Output 2: one per change of an execution's state (and per retry). */
export interface ExecutionEvent {
  jobId: string;
  deviceId: string;
  state: ExecutionState;
  attempts: number;
  commandId: string | null;
  /** Why it failed, timed out, was rejected, canceled or skipped; null otherwise. */
  error: string | null;
  /** True on an event that says a retry is coming. */
  retrying: boolean;
  ts: number;
}

export type StateCounts = Record<ExecutionState, number>;

/** Output 3: a job's progress. */
export interface JobProgress {
  jobId: string;
  state: JobState;
  /** Why the job was aborted or canceled. */
  reason: string | null;
  total: number;
  counts: StateCounts;
  /** Starts allowed per minute now (the ramp's current step). */
  ratePerMinute: number;
  /** Devices started per minute over the job's running time. */
  startedPerMinute: number;
  /** When the last device is expected to finish (ms since epoch); null when unknown or ended. */
  expectedEndAt: number | null;
  startedAt: number;
  endedAt: number | null;
  ts: number;
}

/** The outcome of a command as m2m-command's status events (output 2) report it. */
export interface CommandOutcome {
  commandId: string;
  deviceId?: string;
  status: string;
  error?: string | null;
}

/** The part of the registry a job needs: finding targets, device types, presence, device events. */
export interface JobRegistry {
  get(id: string): { id: string; type: string; tags: string[]; attributes: Record<string, unknown> } | undefined;
  getType(
    name: string,
  ): { commands?: Record<string, { paramsSchema?: Record<string, unknown> | boolean }>; desiredSchema?: Record<string, unknown> | boolean } | undefined;
  isOnline(id: string): boolean;
  list(filter: { type?: string; tag?: string; online?: boolean; page?: number; pageSize?: number }): {
    devices: Array<{ id: string; type: string; tags: string[]; attributes: Record<string, unknown> }>;
    total: number;
  };
  on(event: 'device', listener: (e: { event: string; deviceId: string }) => void): unknown;
  off(event: 'device', listener: (e: { event: string; deviceId: string }) => void): unknown;
}

/** A persisted key/value map: the registry's StateMap, or one kept in memory. */
export interface JobStore {
  get(key: string): unknown;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  keys(): string[];
}
