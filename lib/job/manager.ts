import { randomBytes } from 'crypto';
import { M2MError, errorMessage } from '../errors';
import { readJobDocument, checkJobId } from './document';
import { JobRun, parseCommandId, type JobHost } from './job';
import {
  EXECUTION_PREFIX,
  JOB_PREFIX,
  JOB_RECORD_VERSION,
  TARGETS_PREFIX,
  jobKey,
  readExecutionRecord,
  readJobRecord,
  targetsKey,
  type ExecutionRecord,
  type JobRecord,
} from './record';
import { checkActionForTargets, resolveTargets } from './targets';
import type { CommandOutcome, ExecutionEvent, JobProgress, JobRegistry, JobStore, SendRequest } from './types';

export interface JobManagerOptions {
  store: JobStore;
  registry?: JobRegistry;
  onSend(request: SendRequest): void;
  onExecution?(event: ExecutionEvent): void;
  onProgress?(progress: JobProgress): void;
  /** Stored records this version cannot read, failed writes. */
  onWarning?(message: string): void;
  /** Progress events of a running job at most this often (ms). Default 1000. */
  progressEveryMs?: number;
  /**
   * Restored commands in flight are asked for again (same id, `resume`) only when `resumeRestored()` is called, e.g.
   * once every node of the flow exists to receive them. Default false: right after the constructor.
   */
  deferResume?: boolean;
}

export type JobControl = 'start' | 'pause' | 'resume' | 'cancel' | 'status' | 'delete';
export const JOB_CONTROLS: readonly JobControl[] = ['start', 'pause', 'resume', 'cancel', 'status', 'delete'];

/**
 * Runs several jobs at once over one store: starts them from job documents, routes command and twin outcomes to
 * the attempt they end, lets a device be in one job's hands at a time (the next job waits for it), and restores
 * every job from the store when created, so a restart resumes each where it stopped.
 */
export class JobManager {
  private readonly jobs = new Map<string, JobRun>();
  /** Which job has each device now, and which jobs wait for it, in order. */
  private readonly holders = new Map<string, JobRun>();
  private readonly waiters = new Map<string, JobRun[]>();
  private readonly pending = new Set<Promise<void>>();
  private readonly host: JobHost;
  private closed = false;

  constructor(private readonly options: JobManagerOptions) {
    this.host = {
      registry: options.registry,
      progressEveryMs: options.progressEveryMs ?? 1000,
      claim: (deviceId, job) => this.claim(deviceId, job),
      release: (deviceId, job) => this.release(deviceId, job),
      send: (request) => options.onSend(request),
      execution: (event) => options.onExecution?.(event),
      progress: (progress) => options.onProgress?.(progress),
      write: (key, value) => this.write(key, value),
      ended: () => undefined,
    };
    this.restore();
    options.registry?.on('device', this.onDevice);
  }

  private readonly onDevice = (e: { event: string; deviceId: string }): void => {
    for (const job of this.jobs.values()) job.deviceEvent(e.event, e.deviceId);
  };

  /** Checks a job document, resolves its targets and starts it. Anything wrong throws, and nothing is started. */
  start(document: unknown): JobProgress {
    if (this.closed) throw new M2MError('CLOSED', 'the job node is closed');
    const doc = readJobDocument(document, () => `job-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`);
    if (this.jobs.has(doc.jobId))
      throw new M2MError('JOB_EXISTS', `job ${doc.jobId} already exists (${this.require(doc.jobId).state}); choose another jobId`, { field: 'jobId' });
    const targets = resolveTargets(doc.target, this.options.registry);
    checkActionForTargets(doc.action, targets, this.options.registry);
    const record: JobRecord = {
      v: JOB_RECORD_VERSION,
      doc,
      targets: [...targets],
      state: 'in-progress',
      reason: null,
      startedAt: Date.now(),
      endedAt: null,
      rampStep: 0,
    };
    const job = new JobRun(this.host, record);
    this.jobs.set(doc.jobId, job);
    // the job is stored before its first device starts: a restart then knows the job
    void Promise.all([job.saveTargets(), job.saveJob()]).then(() => {
      if (!this.closed) job.begin();
    });
    return job.progress();
  }

  /** Runs a control message; `status` without a job id lists every job. */
  control(action: unknown, jobId: unknown, payload?: unknown): JobProgress | JobProgress[] {
    if (action === 'start') return this.start(payload);
    if (!JOB_CONTROLS.includes(action as JobControl)) {
      throw new M2MError('INVALID_CONTROL', `the job control ${JSON.stringify(action)} is not one of ${JOB_CONTROLS.join(', ')}`, { field: 'action' });
    }
    if (action === 'status' && (jobId === undefined || jobId === '')) return this.list();
    const job = this.require(checkJobId(jobId));
    if (action === 'status') return job.progress();
    if (action === 'delete') return this.remove(job);
    if (!job.running) throw new M2MError('JOB_ENDED', `job ${job.jobId} has ended (${job.state}); it cannot be ${action}d`, { field: 'jobId' });
    if (action === 'pause') job.pause();
    else if (action === 'resume') job.resume();
    else job.end('canceled', typeof payload === 'string' && payload !== '' ? payload : 'canceled by the flow');
    return job.progress();
  }

  pause(jobId: string): JobProgress {
    return this.control('pause', jobId) as JobProgress;
  }

  resume(jobId: string): JobProgress {
    return this.control('resume', jobId) as JobProgress;
  }

  cancel(jobId: string, reason?: string): JobProgress {
    return this.control('cancel', jobId, reason) as JobProgress;
  }

  status(jobId: string): JobProgress {
    return this.control('status', jobId) as JobProgress;
  }

  list(): JobProgress[] {
    return [...this.jobs.values()].map((j) => j.progress());
  }

  /** The state of one device's execution in a job, for tests and the status output. */
  executionState(jobId: string, deviceId: string): string | undefined {
    return this.jobs.get(jobId)?.stateOf(deviceId);
  }

  /** A status event of m2m-command; false when no attempt in flight has its command id. */
  commandOutcome(outcome: CommandOutcome): boolean {
    const parsed = parseCommandId(outcome.commandId);
    const job = parsed && this.jobs.get(parsed.jobId);
    if (!parsed || !job || this.closed) return false;
    return job.commandOutcome(parsed.index, outcome.commandId, outcome.status, outcome.error ?? null);
  }

  /** A twin after a desire (its delta), or a synced event (an empty delta): ends the device's desired-state attempt. */
  twinOutcome(deviceId: string, deltaEmpty: boolean): boolean {
    const job = this.holders.get(deviceId);
    return job && !this.closed ? job.twinOutcome(deviceId, deltaEmpty) : false;
  }

  /** Running jobs and how many devices are in flight, for a status badge. */
  summary(): { running: number; paused: number; ended: number } {
    let running = 0;
    let paused = 0;
    for (const j of this.jobs.values()) {
      if (j.state === 'in-progress') running++;
      else if (j.state === 'paused') paused++;
    }
    return { running, paused, ended: this.jobs.size - running - paused };
  }

  /** Stops every timer; stored state stays for the next start. Resolves once every write is stored. */
  async close(): Promise<void> {
    this.closed = true;
    this.options.registry?.off('device', this.onDevice);
    for (const job of this.jobs.values()) job.close();
    await this.settle();
  }

  /** Resolves once every write so far is stored. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Deletes every stored job (the node was removed). */
  async discard(): Promise<void> {
    await this.close();
    await Promise.all(
      this.options.store
        .keys()
        .filter((k) => k.startsWith(JOB_PREFIX) || k.startsWith(EXECUTION_PREFIX) || k.startsWith(TARGETS_PREFIX))
        .map((k) => this.options.store.delete(k)),
    );
  }

  /** Forgets an ended job and deletes its stored records; its id may be used again. */
  private remove(job: JobRun): JobProgress {
    if (job.running || job.inFlight > 0) {
      throw new M2MError(
        'INVALID_CONTROL',
        `job ${job.jobId} is ${job.state}${job.running ? '' : ' with devices still in flight'}: cancel it and wait for its last progress before deleting it`,
        { field: 'action' },
      );
    }
    const progress = job.progress();
    job.close();
    this.jobs.delete(job.jobId);
    const prefix = `${EXECUTION_PREFIX}${job.jobId}/`;
    const keys = this.options.store.keys().filter((k) => k.startsWith(prefix));
    for (const key of [jobKey(job.jobId), targetsKey(job.jobId), ...keys]) this.track(this.options.store.delete(key), key);
    return progress;
  }

  private require(jobId: string): JobRun {
    const job = this.jobs.get(jobId);
    if (!job)
      throw new M2MError('JOB_NOT_FOUND', `there is no job ${jobId}${this.jobs.size ? `; jobs: ${[...this.jobs.keys()].slice(0, 10).join(', ')}` : ''}`, {
        field: 'jobId',
      });
    return job;
  }

  private claim(deviceId: string, job: JobRun): boolean {
    const holder = this.holders.get(deviceId);
    if (holder === undefined || holder === job) {
      this.holders.set(deviceId, job);
      return true;
    }
    const queue = this.waiters.get(deviceId);
    if (!queue) this.waiters.set(deviceId, [job]);
    else if (!queue.includes(job)) queue.push(job);
    return false;
  }

  private release(deviceId: string, job: JobRun): void {
    if (this.holders.get(deviceId) !== job) {
      const queue = this.waiters.get(deviceId);
      const at = queue?.indexOf(job) ?? -1;
      if (queue && at >= 0) queue.splice(at, 1);
      if (queue?.length === 0) this.waiters.delete(deviceId);
      return;
    }
    this.holders.delete(deviceId);
    const queue = this.waiters.get(deviceId);
    const next = queue?.shift();
    if (queue?.length === 0) this.waiters.delete(deviceId);
    next?.unblocked(deviceId);
  }

  private write(key: string, value: unknown): Promise<void> {
    let p: Promise<void>;
    try {
      p = this.options.store.set(key, value);
    } catch (err) {
      p = Promise.reject(err);
    }
    return this.track(p, key);
  }

  private track(p: Promise<void>, key: string): Promise<void> {
    const tracked = p.catch((err: unknown) => this.options.onWarning?.(`storing job state ${key}: ${errorMessage(err)}`));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
    return tracked;
  }

  /** Loads every stored job and execution; unreadable records are reported and left in place. */
  private restore(): void {
    const store = this.options.store;
    const unreadable: string[] = [];
    const executions = new Map<string, ExecutionRecord[]>();
    const records: JobRecord[] = [];
    for (const key of store.keys()) {
      if (key.startsWith(JOB_PREFIX)) {
        const read = readJobRecord(key, store.get(key), store.get(targetsKey(key.slice(JOB_PREFIX.length))));
        if ('unreadable' in read) unreadable.push(`${key} (${read.unreadable})`);
        else records.push(read.record);
      } else if (key.startsWith(EXECUTION_PREFIX)) {
        const read = readExecutionRecord(key, store.get(key));
        if ('unreadable' in read) unreadable.push(`${key} (${read.unreadable})`);
        else {
          const list = executions.get(read.record.jobId);
          if (list) list.push(read.record);
          else executions.set(read.record.jobId, [read.record]);
        }
      }
    }
    if (unreadable.length)
      this.options.onWarning?.(`${unreadable.length} stored job record(s) could not be read and are left as they are: ${unreadable.slice(0, 5).join(', ')}`);
    records.sort((a, b) => a.startedAt - b.startedAt);
    const jobs = records.map((record) => {
      const job = new JobRun(this.host, record);
      this.jobs.set(job.jobId, job);
      job.restoreExecutions(executions.get(job.jobId) ?? []);
      job.restored();
      return job;
    });
    for (const job of jobs) if (job.running) job.begin();
    // after the constructor has returned: a kept outcome may come back at once, inside the send
    if (!this.options.deferResume) void Promise.resolve().then(() => this.resumeRestored());
  }

  /** Asks again for each command in flight at the restart, under its own id (once; later calls do nothing). */
  resumeRestored(): void {
    if (!this.closed) for (const job of this.jobs.values()) job.resendRestored();
  }
}
