import { isPlainObject } from '../safe';
import type { CommandRecord, CommandStatus, CommandStore, StatusEvent } from './types';

// A command's final outcome, kept in the store for a while after it ended (under `~<id>`; `~` is never part of a
// command id). A caller that resubmits the same command id, e.g. an m2m-job restarted after a crash that came
// between the command's reply and the job storing it, gets this outcome again instead of the device getting the
// command a second time. Bounded by a time to live and by a count; the oldest go first.

export const OUTCOME_PREFIX = '~';
export const OUTCOME_RECORD_VERSION = 1;

type FinalStatus = Exclude<CommandStatus, 'queued' | 'sent'>;
const FINAL: readonly FinalStatus[] = ['succeeded', 'failed', 'timeout', 'expired', 'rejected', 'canceled'];

export interface KeptOutcome {
  v: number;
  id: string;
  deviceId: string;
  command: string;
  status: FinalStatus;
  response: unknown;
  error: string | null;
  attempts: number;
  createdAt: number;
  endedAt: number;
}

export class KeptOutcomes {
  private readonly kept = new Map<string, KeptOutcome>();

  constructor(
    private readonly store: CommandStore,
    private readonly keepMs: number,
    private readonly limit: number,
  ) {}

  static isKey(key: string): boolean {
    return key.startsWith(OUTCOME_PREFIX);
  }

  get(id: string): KeptOutcome | undefined {
    const outcome = this.kept.get(id);
    return outcome && Date.now() - outcome.endedAt < this.keepMs ? outcome : undefined;
  }

  /** Stores the outcome, then deletes the command's record: a store that kept the delete kept the outcome too. */
  async keep(record: CommandRecord, status: FinalStatus, response: unknown, error: string | null): Promise<void> {
    if (this.keepMs <= 0 || this.limit <= 0) return this.store.delete(record.id);
    const outcome: KeptOutcome = {
      v: OUTCOME_RECORD_VERSION,
      id: record.id,
      deviceId: record.deviceId,
      command: record.command,
      status,
      response: response === undefined ? null : response,
      error,
      attempts: record.attempts,
      createdAt: record.createdAt,
      endedAt: Date.now(),
    };
    this.kept.delete(record.id);
    this.kept.set(record.id, outcome);
    const written = this.store.set(OUTCOME_PREFIX + record.id, outcome);
    const pruned = this.prune();
    await written;
    await Promise.all([this.store.delete(record.id), pruned]);
  }

  /** Reads a stored outcome at restore; true when the key is an outcome's (read, expired or unreadable). */
  restore(key: string, value: unknown): boolean {
    if (!KeptOutcomes.isKey(key)) return false;
    const id = key.slice(OUTCOME_PREFIX.length);
    if (
      isPlainObject(value) &&
      value.v === OUTCOME_RECORD_VERSION &&
      value.id === id &&
      FINAL.includes(value.status as FinalStatus) &&
      typeof value.deviceId === 'string' &&
      typeof value.command === 'string' &&
      typeof value.endedAt === 'number'
    ) {
      this.kept.set(id, value as unknown as KeptOutcome);
    } else {
      void this.store.delete(key).catch(() => undefined); // an outcome is a convenience: one this version cannot read is dropped
    }
    return true;
  }

  /** After restore: oldest first, expired and surplus ones dropped. */
  restored(): KeptOutcome[] {
    const sorted = [...this.kept.values()].sort((a, b) => a.endedAt - b.endedAt);
    this.kept.clear();
    for (const o of sorted) this.kept.set(o.id, o);
    void this.prune().catch(() => undefined);
    return [...this.kept.values()];
  }

  /** The outcome again as a status event (same id, status, error, response). */
  static event(outcome: KeptOutcome): StatusEvent {
    const ts = Date.now();
    return {
      id: outcome.id,
      deviceId: outcome.deviceId,
      command: outcome.command,
      status: outcome.status,
      attempts: outcome.attempts,
      response: outcome.response,
      error: outcome.error,
      latencyMs: outcome.endedAt - outcome.createdAt,
      ts,
    };
  }

  private prune(): Promise<void> {
    const now = Date.now();
    const drop: string[] = [];
    for (const [id, o] of this.kept) {
      if (this.kept.size - drop.length <= this.limit && now - o.endedAt < this.keepMs) break;
      drop.push(id);
    }
    for (const id of drop) this.kept.delete(id);
    return Promise.all(drop.map((id) => this.store.delete(OUTCOME_PREFIX + id))).then(() => undefined);
  }
}
