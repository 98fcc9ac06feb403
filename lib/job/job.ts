import { Pacer } from './pacer';
import { matchesTarget } from './targets';
import {
  EXECUTION_STATES,
  FINAL_STATES,
  type ExecutionEvent,
  type ExecutionState,
  type JobDocument,
  type JobProgress,
  type JobRegistry,
  type JobState,
  type SendRequest,
  type StateCounts,
} from './types';
import { JOB_RECORD_VERSION, executionKey, jobKey, targetsKey, type ExecutionRecord, type JobRecord, type StoredJob } from './record';

/** What a job needs from the manager that runs it: device locks shared by all jobs, outputs, the store. */
export interface JobHost {
  readonly registry: JobRegistry | undefined;
  readonly progressEveryMs: number;
  /** Takes the device for this job; false while another job has it (the job is woken by `unblocked`). */
  claim(deviceId: string, job: JobRun): boolean;
  release(deviceId: string, job: JobRun): void;
  send(request: SendRequest): void;
  execution(event: ExecutionEvent): void;
  progress(progress: JobProgress): void;
  write(key: string, value: unknown): Promise<void>;
  ended(job: JobRun): void;
}

/** An execution that has started and not ended: waiting for its attempt's outcome, or for its next attempt. */
interface Flight {
  commandId: string | null;
  phase: 'sent' | 'backoff';
  dueAt: number;
  timer: NodeJS.Timeout | undefined;
  /** The outcome of the last attempt, while waiting to retry. */
  lastState: ExecutionState | null;
  error: string | null;
  /** The attempt's record is stored, so it may be sent. */
  sendable: boolean;
}

const STATE_CODE = new Map<ExecutionState, number>(EXECUTION_STATES.map((s, i) => [s, i]));
const QUEUED = 0;
const MAX_BACKOFF_MS = 10 * 60_000;

function emptyCounts(): StateCounts {
  return Object.fromEntries(EXECUTION_STATES.map((s) => [s, 0])) as StateCounts;
}

/** The command id of one attempt: the job, the device's place in the job, the attempt. */
export function commandIdOf(jobId: string, index: number, attempt: number): string {
  return `${jobId}:${index.toString(36)}:${attempt}`;
}

export function parseCommandId(id: string): { jobId: string; index: number; attempt: number } | undefined {
  const last = id.lastIndexOf(':');
  const middle = last > 0 ? id.lastIndexOf(':', last - 1) : -1;
  if (middle <= 0) return undefined;
  const index = parseInt(id.slice(middle + 1, last), 36);
  const attempt = Number(id.slice(last + 1));
  if (!Number.isInteger(index) || !Number.isInteger(attempt)) return undefined;
  return { jobId: id.slice(0, middle), index, attempt };
}

/**
 * One job's rollout. Execution state is kept compactly (a byte per device for the state and one for the attempts),
 * with an object only for the devices in flight, so a 100,000-device job costs little more than its list of ids.
 */
export class JobRun {
  readonly doc: JobDocument;
  readonly targets: string[];
  state: JobState;
  reason: string | null;
  readonly startedAt: number;
  endedAt: number | null;
  private states: Uint8Array;
  private attempts: Uint8Array;
  private readonly counts = emptyCounts();
  private cursor = 0;
  /** Devices to look at before the cursor's: freed by another job, or back online. */
  private readonly front: number[] = [];
  private readonly blocked = new Map<string, number>();
  private readonly waitingOnline = new Map<string, number>();
  private readonly flights = new Map<number, Flight>();
  private readonly flightByDevice = new Map<string, number>();
  private readonly members: Set<string> | undefined;
  private readonly pacer: Pacer;
  private started = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private finalProgressSent = false;
  /** Executions restored in flight whose command is asked for again (same id) once the manager is ready. */
  private readonly restoredSent: number[] = [];

  constructor(
    private readonly host: JobHost,
    record: JobRecord,
  ) {
    this.doc = record.doc;
    this.targets = record.targets;
    this.state = record.state;
    this.reason = record.reason;
    this.startedAt = record.startedAt;
    this.endedAt = record.endedAt;
    this.states = new Uint8Array(this.targets.length);
    this.attempts = new Uint8Array(this.targets.length);
    this.counts.queued = this.targets.length;
    this.pacer = new Pacer(this.doc.perMinute, this.doc.ramp, record.rampStep);
    if (this.doc.target.kind === 'query' && this.doc.target.continuous) this.members = new Set(this.targets);
  }

  get jobId(): string {
    return this.doc.jobId;
  }

  /** Devices started and not ended. */
  get inFlight(): number {
    return this.flights.size;
  }

  get running(): boolean {
    return this.state === 'in-progress' || this.state === 'paused';
  }

  record(): StoredJob {
    return {
      v: JOB_RECORD_VERSION,
      doc: this.doc,
      state: this.state,
      reason: this.reason,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      rampStep: this.pacer.step,
    };
  }

  /** Starts (or, after restore, resumes) the rollout. */
  begin(): void {
    if (this.running && this.doc.deadlineMs > 0 && this.host.registry) {
      this.deadlineTimer = setTimeout(() => this.deadlinePassed(), Math.max(0, this.startedAt + this.doc.deadlineMs - Date.now()));
    }
    this.progressNow();
    this.pump();
  }

  // ---- restore ----

  /** Takes stored executions back: final ones as they are, in-flight ones waiting for their command's outcome. */
  restoreExecutions(records: readonly ExecutionRecord[]): void {
    const indexOf = new Map<string, number>();
    this.targets.forEach((id, i) => indexOf.set(id, i));
    for (const r of records) {
      let index = indexOf.get(r.deviceId);
      if (index === undefined) {
        if (!this.members) continue;
        index = this.append(r.deviceId);
      }
      this.restoreOne(index, r);
    }
    this.cursor = 0;
  }

  private restoreOne(index: number, r: ExecutionRecord): void {
    this.attempts[index] = Math.min(255, r.attempts);
    if (r.attempts > 0) this.started++;
    if (r.state === 'queued') return;
    if (r.state !== 'in-progress') {
      this.setState(index, r.state);
      return;
    }
    this.setState(index, 'in-progress');
    this.host.claim(r.deviceId, this);
    const flight: Flight = {
      commandId: r.commandId,
      phase: r.phase === 'backoff' ? 'backoff' : 'sent',
      dueAt: r.dueAt,
      timer: undefined,
      lastState: r.lastState,
      error: r.error,
      sendable: true,
    };
    this.flights.set(index, flight);
    this.flightByDevice.set(r.deviceId, index);
    const left = Math.max(0, r.dueAt - Date.now());
    if (flight.phase === 'backoff') {
      flight.timer = setTimeout(() => this.sendAttempt(index), left);
    } else if (this.doc.action.kind === 'desired') {
      // a desire is idempotent: sent again, its result says whether the delta is empty by now
      this.host.send({ kind: 'desired', jobId: this.jobId, deviceId: r.deviceId, patch: this.doc.action.patch, attempt: r.attempts });
      flight.timer = setTimeout(() => this.attemptEnded(index, 'timed-out', `no synced twin within ${this.doc.timeoutMs} ms`), this.doc.timeoutMs);
    } else {
      // the same command (same id) is submitted again once restored: m2m-command answers with its kept final outcome,
      // goes on with it if it is still in progress, or sends it if it never got it; that outcome ends this attempt
      this.restoredSent.push(index);
      flight.timer = setTimeout(
        () => this.attemptEnded(index, 'timed-out', `no outcome of command ${r.commandId} within ${this.doc.timeoutMs} ms of the restart`),
        left + this.doc.timeoutMs,
      );
    }
  }

  /** Asks m2m-command again for each command that was in flight at the restart (same id: never a second command). */
  resendRestored(): void {
    const action = this.doc.action;
    for (const index of this.restoredSent.splice(0)) {
      const flight = this.flights.get(index);
      if (this.closed || action.kind !== 'command' || !flight || flight.phase !== 'sent' || !flight.commandId) continue;
      this.host.send({
        kind: 'command',
        jobId: this.jobId,
        deviceId: this.targets[index],
        command: action.command,
        params: action.params,
        commandId: flight.commandId,
        timeoutMs: this.doc.timeoutMs,
        attempt: this.attempts[index],
        resume: true,
      });
    }
  }

  /** After restore: queued devices of an ended job were canceled with it. */
  restored(): void {
    if (this.running) return;
    for (let i = 0; i < this.targets.length; i++) if (this.states[i] === QUEUED) this.setState(i, 'canceled');
    this.cursor = this.targets.length;
    this.finalProgressSent = this.flights.size === 0;
  }

  // ---- rollout ----

  private pump(): void {
    if (this.closed) return;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    if (this.state === 'in-progress') {
      for (;;) {
        if (this.state !== 'in-progress') break; // aborted by an outcome met on the way
        if (this.flights.size >= this.doc.maxInFlight) {
          this.pacer.stall();
          break;
        }
        const now = Date.now();
        const wait = this.pacer.wait(now);
        if (wait > 0) {
          if (this.hasWork()) this.pumpTimer = setTimeout(() => this.pump(), wait);
          break;
        }
        const index = this.nextIndex(now);
        if (index === undefined) {
          this.pacer.stall();
          break;
        }
        this.pacer.take(now);
        this.started++;
        this.setState(index, 'in-progress');
        this.sendAttempt(index);
      }
    }
    this.checkDone();
  }

  private hasWork(): boolean {
    return this.front.length > 0 || this.cursor < this.targets.length;
  }

  /** The next device that may start now; devices busy in another job, or offline with a deadline, wait aside. */
  private nextIndex(now: number): number | undefined {
    for (;;) {
      let index: number;
      if (this.front.length > 0) index = this.front.shift() as number;
      else if (this.cursor < this.targets.length) index = this.cursor++;
      else return undefined;
      if (this.states[index] !== QUEUED) continue;
      const deviceId = this.targets[index];
      const registry = this.host.registry;
      if (this.doc.deadlineMs > 0 && registry && !registry.isOnline(deviceId)) {
        if (now >= this.startedAt + this.doc.deadlineMs) this.finish(index, 'skipped', 'offline past the job deadline');
        else this.waitingOnline.set(deviceId, index);
        continue;
      }
      if (!this.host.claim(deviceId, this)) {
        this.blocked.set(deviceId, index);
        continue;
      }
      return index;
    }
  }

  /** Writes the attempt's record, then sends it: after a crash, a stored attempt is never sent as a new one. */
  private sendAttempt(index: number): void {
    const deviceId = this.targets[index];
    const attempt = Math.min(255, this.attempts[index] + 1);
    this.attempts[index] = attempt;
    const commandId = this.doc.action.kind === 'command' ? commandIdOf(this.jobId, index, attempt) : null;
    const old = this.flights.get(index);
    if (old?.timer) clearTimeout(old.timer);
    const flight: Flight = {
      commandId,
      phase: 'sent',
      dueAt: Date.now() + this.doc.timeoutMs,
      timer: undefined,
      lastState: null,
      error: null,
      sendable: false,
    };
    this.flights.set(index, flight);
    this.flightByDevice.set(deviceId, index);
    flight.timer = setTimeout(() => this.attemptEnded(index, 'timed-out', `no outcome within ${this.doc.timeoutMs} ms`), this.doc.timeoutMs);
    this.emit(index, 'in-progress', null, false, commandId);
    void this.saveExecution(index, flight).then(() => {
      if (this.flights.get(index) !== flight || flight.phase !== 'sent' || this.closed) return;
      flight.sendable = true;
      const action = this.doc.action;
      if (action.kind === 'command') {
        this.host.send({
          kind: 'command',
          jobId: this.jobId,
          deviceId,
          command: action.command,
          params: action.params,
          commandId: commandId as string,
          timeoutMs: this.doc.timeoutMs,
          attempt,
        });
      } else {
        this.host.send({ kind: 'desired', jobId: this.jobId, deviceId, patch: action.patch, attempt });
      }
    });
  }

  /** A command's status event; false when it belongs to no attempt of this job in flight (late, or another's). */
  commandOutcome(index: number, commandId: string, status: string, error: string | null): boolean {
    const flight = this.flights.get(index);
    if (!flight || flight.phase !== 'sent' || flight.commandId !== commandId) return false;
    const result: ExecutionState | undefined =
      status === 'succeeded'
        ? 'succeeded'
        : status === 'failed'
          ? 'failed'
          : status === 'timeout' || status === 'expired'
            ? 'timed-out'
            : status === 'rejected'
              ? 'rejected'
              : status === 'canceled'
                ? 'canceled'
                : undefined;
    if (!result) return true; // queued, sent: not an outcome yet
    this.attemptEnded(index, result, error ?? (result === 'succeeded' ? null : `command ${status}`));
    return true;
  }

  /** The device's twin after a desire, or a synced event: an empty delta ends the attempt well. */
  twinOutcome(deviceId: string, deltaEmpty: boolean): boolean {
    const index = this.flightByDevice.get(deviceId);
    if (index === undefined || this.doc.action.kind !== 'desired') return false;
    const flight = this.flights.get(index);
    if (!flight || flight.phase !== 'sent') return false;
    if (deltaEmpty) this.attemptEnded(index, 'succeeded', null);
    return true;
  }

  private attemptEnded(index: number, result: ExecutionState, error: string | null): void {
    const flight = this.flights.get(index);
    if (!flight) return;
    if (flight.timer) clearTimeout(flight.timer);
    flight.timer = undefined;
    const retriable = result === 'failed' || result === 'timed-out';
    if (retriable && this.attempts[index] <= this.doc.retries && this.running && !this.closed) {
      const delay = Math.min(MAX_BACKOFF_MS, this.doc.backoffMs * 2 ** (this.attempts[index] - 1));
      flight.phase = 'backoff';
      flight.lastState = result;
      flight.error = error;
      flight.dueAt = Date.now() + delay;
      flight.timer = setTimeout(() => this.sendAttempt(index), delay);
      this.emit(index, 'in-progress', error, true, flight.commandId);
      void this.saveExecution(index, flight);
      return;
    }
    this.finish(index, result, error);
  }

  /** Ends one execution in a final state, frees its device for other jobs, and checks the abort criteria. */
  private finish(index: number, state: ExecutionState, error: string | null): void {
    const deviceId = this.targets[index];
    const flight = this.flights.get(index);
    if (flight) {
      if (flight.timer) clearTimeout(flight.timer);
      this.flights.delete(index);
      this.flightByDevice.delete(deviceId);
    }
    this.setState(index, state);
    void this.saveExecution(index, undefined, error);
    this.emit(index, state, error, false, flight?.commandId ?? null);
    if (flight) this.host.release(deviceId, this);
    if (state === 'succeeded' && this.pacer.succeeded(this.successPercent())) void this.saveJob();
    this.checkAbort();
    this.scheduleProgress();
    if (!this.closed) queueMicrotask(() => this.pump());
  }

  private finished(): number {
    const c = this.counts;
    return c.succeeded + c.failed + c['timed-out'] + c.rejected;
  }

  private successPercent(): number {
    const f = this.finished();
    return f === 0 ? 100 : (this.counts.succeeded / f) * 100;
  }

  private checkAbort(): void {
    const abort = this.doc.abort;
    if (!abort || (this.state !== 'in-progress' && this.state !== 'paused')) return;
    const finished = this.finished();
    if (finished < abort.minFinished) return;
    const c = this.counts;
    const failures = ((c.failed + c.rejected + c['timed-out']) / finished) * 100;
    const timeouts = (c['timed-out'] / finished) * 100;
    if (abort.failurePercent !== undefined && failures > abort.failurePercent) {
      this.end('aborted', `${failures.toFixed(1)}% of ${finished} finished devices failed, over the ${abort.failurePercent}% limit`);
    } else if (abort.timeoutPercent !== undefined && timeouts > abort.timeoutPercent) {
      this.end('aborted', `${timeouts.toFixed(1)}% of ${finished} finished devices timed out, over the ${abort.timeoutPercent}% limit`);
    }
  }

  private checkDone(): void {
    if (this.running) {
      const waiting = this.hasWork() || this.blocked.size > 0 || this.waitingOnline.size > 0 || this.flights.size > 0;
      if (!waiting && !this.members) this.end('completed', null);
      return;
    }
    if (this.flights.size === 0 && !this.finalProgressSent) {
      this.finalProgressSent = true;
      this.progressNow();
      this.host.ended(this);
    }
  }

  // ---- control ----

  pause(): void {
    this.state = 'paused';
    this.pacer.stall();
    void this.saveJob();
    this.progressNow();
  }

  resume(): void {
    this.state = 'in-progress';
    void this.saveJob();
    this.progressNow();
    this.pump();
  }

  /** Stops starting devices: queued ones and those waiting to retry end now; ones in flight end with their outcome. */
  end(state: 'completed' | 'aborted' | 'canceled', reason: string | null): void {
    this.state = state;
    this.reason = reason;
    this.endedAt = Date.now();
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.pumpTimer = this.deadlineTimer = undefined;
    if (state !== 'completed') {
      const why = reason ?? `job ${state}`;
      for (const [deviceId, index] of this.blocked) {
        this.host.release(deviceId, this); // only removes this job from the device's waiters
        this.cancelQueued(index, why);
      }
      this.blocked.clear();
      for (const index of this.waitingOnline.values()) this.cancelQueued(index, why);
      this.waitingOnline.clear();
      for (const index of this.front) this.cancelQueued(index, why);
      this.front.length = 0;
      while (this.cursor < this.targets.length) this.cancelQueued(this.cursor++, why);
      for (const [index, flight] of [...this.flights]) {
        if (flight.phase === 'backoff') this.finish(index, flight.lastState ?? 'failed', flight.error);
      }
    }
    void this.saveJob();
    if (this.flights.size > 0) this.progressNow(); // otherwise checkDone sends the final progress
    this.checkDone();
  }

  /** Canceled before it started: no record is written, an ended job's queued devices read back as canceled. */
  private cancelQueued(index: number, reason: string): void {
    if (this.states[index] !== QUEUED) return;
    this.setState(index, 'canceled');
    this.emit(index, 'canceled', reason, false, null);
  }

  /** Another job let go of a device this job waits for. */
  unblocked(deviceId: string): void {
    const index = this.blocked.get(deviceId);
    if (index === undefined) return;
    this.blocked.delete(deviceId);
    this.front.push(index);
    this.pump();
  }

  deviceEvent(event: string, deviceId: string): void {
    if (!this.running) return;
    if (event === 'online') {
      const index = this.waitingOnline.get(deviceId);
      if (index === undefined) return;
      this.waitingOnline.delete(deviceId);
      this.front.push(index);
      this.pump();
    } else if ((event === 'registered' || event === 'updated') && this.members && !this.members.has(deviceId)) {
      const device = this.host.registry?.get(deviceId);
      if (!device || !matchesTarget(this.doc.target, device, this.host.registry?.isOnline(deviceId) ?? false)) return;
      const index = this.append(deviceId);
      void this.host.write(executionKey(this.jobId, deviceId), this.executionRecord(index, undefined, null));
      this.front.push(index);
      this.pump();
    }
  }

  private append(deviceId: string): number {
    const index = this.targets.length;
    this.targets.push(deviceId);
    this.members?.add(deviceId);
    if (index >= this.states.length) {
      const grow = (a: Uint8Array): Uint8Array => {
        const b = new Uint8Array(Math.max(16, a.length * 2));
        b.set(a);
        return b;
      };
      this.states = grow(this.states);
      this.attempts = grow(this.attempts);
    }
    this.cursor = Math.max(this.cursor, index + 1);
    this.counts.queued++;
    return index;
  }

  private deadlinePassed(): void {
    this.deadlineTimer = undefined;
    for (const index of this.waitingOnline.values()) this.finish(index, 'skipped', 'offline past the job deadline');
    this.waitingOnline.clear();
  }

  // ---- state, records, events ----

  private setState(index: number, state: ExecutionState): void {
    const old = EXECUTION_STATES[this.states[index]];
    this.counts[old]--;
    this.counts[state]++;
    this.states[index] = STATE_CODE.get(state) as number;
  }

  stateOf(deviceId: string): ExecutionState | undefined {
    const index = this.targets.indexOf(deviceId);
    return index < 0 ? undefined : EXECUTION_STATES[this.states[index]];
  }

  private executionRecord(index: number, flight: Flight | undefined, error: string | null): ExecutionRecord {
    return {
      v: JOB_RECORD_VERSION,
      jobId: this.jobId,
      deviceId: this.targets[index],
      state: EXECUTION_STATES[this.states[index]],
      attempts: this.attempts[index],
      commandId: flight?.commandId ?? null,
      phase: flight?.phase ?? null,
      dueAt: flight?.dueAt ?? 0,
      lastState: flight?.lastState ?? null,
      error: flight?.error ?? error,
      updatedAt: Date.now(),
    };
  }

  private saveExecution(index: number, flight: Flight | undefined, error: string | null = null): Promise<void> {
    return this.host.write(executionKey(this.jobId, this.targets[index]), this.executionRecord(index, flight, error));
  }

  saveJob(): Promise<void> {
    return this.host.write(jobKey(this.jobId), this.record());
  }

  /** The targets as resolved at the start: written once (a continuous job stores later devices per device). */
  saveTargets(): Promise<void> {
    return this.host.write(targetsKey(this.jobId), { v: JOB_RECORD_VERSION, jobId: this.jobId, targets: this.targets });
  }

  private emit(index: number, state: ExecutionState, error: string | null, retrying: boolean, commandId: string | null): void {
    this.host.execution({
      jobId: this.jobId,
      deviceId: this.targets[index],
      state,
      attempts: this.attempts[index],
      commandId,
      error,
      retrying,
      ts: Date.now(),
    });
  }

  progress(): JobProgress {
    const now = Date.now();
    const counts = { ...this.counts };
    const total = this.targets.length;
    const minutes = Math.max(1, (this.endedAt ?? now) - this.startedAt) / 60_000;
    const startedPerMinute = this.started / minutes;
    let expectedEndAt: number | null = null;
    if (this.running) {
      const left = counts.queued + counts['in-progress'];
      const rate = Math.min(
        this.pacer.ratePerMinute(),
        startedPerMinute > 0 ? Math.max(startedPerMinute, this.pacer.ratePerMinute() / 2) : this.pacer.ratePerMinute(),
      );
      expectedEndAt = now + Math.round((left / rate) * 60_000);
    }
    return {
      jobId: this.jobId,
      state: this.state,
      reason: this.reason,
      total,
      counts,
      ratePerMinute: this.pacer.ratePerMinute(),
      startedPerMinute: Math.round(startedPerMinute * 10) / 10,
      expectedEndAt,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      ts: now,
    };
  }

  private scheduleProgress(): void {
    if (this.progressTimer || this.closed) return;
    this.progressTimer = setTimeout(() => {
      this.progressTimer = undefined;
      this.host.progress(this.progress());
    }, this.host.progressEveryMs);
  }

  private progressNow(): void {
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = undefined;
    if (!this.closed) this.host.progress(this.progress());
  }

  isFinal(state: ExecutionState): boolean {
    return FINAL_STATES.has(state);
  }

  /** Stops every timer; the stored state stays for the next start. */
  close(): void {
    this.closed = true;
    for (const timer of [this.pumpTimer, this.deadlineTimer, this.progressTimer]) if (timer) clearTimeout(timer);
    for (const flight of this.flights.values()) if (flight.timer) clearTimeout(flight.timer);
  }
}
