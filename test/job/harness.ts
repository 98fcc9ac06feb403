import sinon from 'sinon';
import { JobManager, type ExecutionEvent, type JobProgress, type JobRegistry, type JobStore, type SendRequest } from '../../lib/job';

/** A store in memory whose writes resolve on the next microtask, like the registry's memory store. */
export class MapStore implements JobStore {
  readonly entries = new Map<string, unknown>();
  get(key: string): unknown {
    return this.entries.get(key);
  }
  set(key: string, value: unknown): Promise<void> {
    this.entries.set(key, structuredClone(value));
    return Promise.resolve();
  }
  delete(key: string): Promise<void> {
    this.entries.delete(key);
    return Promise.resolve();
  }
  keys(): string[] {
    return [...this.entries.keys()];
  }
}

export type Answer = 'succeeded' | 'failed' | 'timeout' | 'rejected' | 'silent';

export interface Rig {
  clock: sinon.SinonFakeTimers;
  manager: JobManager;
  store: MapStore;
  sent: Array<SendRequest & { at: number }>;
  executions: ExecutionEvent[];
  progress: JobProgress[];
  /** Devices with a command in flight now, and the most there were at once. */
  inFlight: Set<string>;
  maxInFlight: () => number;
  restart(): Rig;
  close(): void;
}

export interface RigOptions {
  /** How a device answers attempt n of a command; default: succeeded. */
  answer?: (deviceId: string, attempt: number) => Answer;
  /** Delay before the answer (fake ms). */
  latencyMs?: number;
  registry?: JobRegistry;
  store?: MapStore;
  clock?: sinon.SinonFakeTimers;
}

/** A job manager wired to simulated devices that answer each command after a latency, under fake timers. */
export function rig(options: RigOptions = {}): Rig {
  const clock =
    options.clock ?? sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'setImmediate'] });
  const store = options.store ?? new MapStore();
  const sent: Rig['sent'] = [];
  const executions: ExecutionEvent[] = [];
  const progress: JobProgress[] = [];
  const inFlight = new Set<string>();
  let most = 0;
  const answer = options.answer ?? (() => 'succeeded');
  const manager: JobManager = new JobManager({
    store,
    registry: options.registry,
    onSend: (request) => onSend(request),
    onExecution: (e) => onExecution(e),
    onProgress: (p) => progress.push(p),
  });
  function onSend(request: SendRequest): void {
    sent.push({ ...request, at: Date.now() });
    if (request.kind !== 'command') return;
    const reply = answer(request.deviceId, request.attempt);
    if (reply === 'silent') return;
    setTimeout(
      () =>
        manager.commandOutcome({
          commandId: request.commandId,
          deviceId: request.deviceId,
          status: reply,
          error: reply === 'succeeded' ? null : `device said ${reply}`,
        }),
      options.latencyMs ?? 100,
    );
  }
  function onExecution(e: ExecutionEvent): void {
    executions.push(e);
    if (e.state === 'in-progress') inFlight.add(`${e.jobId}/${e.deviceId}`);
    else inFlight.delete(`${e.jobId}/${e.deviceId}`);
    most = Math.max(most, inFlight.size);
  }
  return {
    clock,
    manager,
    store,
    sent,
    executions,
    progress,
    inFlight,
    maxInFlight: () => most,
    restart: () => rig({ ...options, store, clock }),
    close: () => {
      void manager.close();
    },
  };
}

export function devices(n: number, prefix = 'd'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
}

/** The final state of each device in a job, from the execution events. */
export function finalStates(executions: ExecutionEvent[], jobId: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of executions) if (e.jobId === jobId && e.state !== 'in-progress') out.set(e.deviceId, e.state);
  return out;
}

export function lastProgress(progress: JobProgress[], jobId: string): JobProgress {
  const p = [...progress].reverse().find((x) => x.jobId === jobId);
  if (!p) throw new Error(`no progress for ${jobId}`);
  return p;
}
