// The rule engine: what a rule node calls. It keeps per device and rule an alarm state machine in a typed-array
// table; the work is split by concern: alarm-table.ts (slots and columns: allocate, grow, shrink, evict),
// alarm-flags.ts (the state bits), sample-reader.ts (the validating first pass over a sample),
// alarm-transitions.ts (the state machine), alarm-deadlines.ts (its timers), alarm-view.ts (states and events
// as users see them), state-codec.ts (to and from the persisted shape).
import { M2MError } from '../errors';
import { deviceIdProblem } from '../ids';
import { isPlainObject } from '../safe';
import { ACKED, ACTIVE, PERSISTED } from './alarm-flags';
import { AlarmDeadlines } from './alarm-deadlines';
import { AlarmTable } from './alarm-table';
import { AlarmTransitions } from './alarm-transitions';
import { alarmListing } from './alarm-view';
import type { CompiledRule } from './compile';
import { describe, SampleReader } from './sample-reader';
import { decodeAlarm, encodeAlarm } from './state-codec';
import type { SlotStore } from './slot-store';
import type { PersistedAlarm, PersistedSeries } from './state-format';
import type { AlarmEvent, AlarmListing, DeviceLookup } from './types';

export { MISSING_METRIC_HINT_AFTER } from './sample-reader';
export const DEFAULT_MAX_DEVICES = 100_000;
export const DEFAULT_IDLE_MS = 24 * 3600 * 1000;

export type ControlOp = 'ack' | 'shelve' | 'unshelve' | 'reset';

export interface EngineOptions {
  rules: CompiledRule[];
  lookup?: DeviceLookup;
  /** Events raised by timers (delays, escalation, no-data, shelve expiry). */
  onTimerEvents?: (events: AlarmEvent[]) => void;
  /** A device's persisted state changed (or was dropped): save `snapshot(deviceId)`. */
  onChange?: (deviceId: string) => void;
  /** Told once per rule when MISSING_METRIC_HINT_AFTER messages came in and none carried the rule's metric. */
  onHint?: (message: string) => void;
  maxDevices?: number;
  /** Devices silent this long with no alarm, delay or shelving are forgotten. */
  idleMs?: number;
  now?: () => number;
}

export class RuleEngine {
  readonly rules: readonly CompiledRule[];
  private readonly ruleCount: number;
  private readonly byName = new Map<string, CompiledRule>();
  private readonly onChange: (deviceId: string) => void;
  private readonly idleMs: number;
  private readonly now: () => number;
  private readonly table: AlarmTable;
  private readonly reader: SampleReader;
  private readonly deadlines: AlarmDeadlines;
  private readonly transitions: AlarmTransitions;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: EngineOptions) {
    this.rules = options.rules;
    this.ruleCount = Math.max(1, options.rules.length);
    for (const rule of options.rules) this.byName.set(rule.name, rule);
    this.onChange = options.onChange ?? (() => undefined);
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.now = options.now ?? (() => Date.now());
    const stores: SlotStore[] = [];
    this.table = new AlarmTable(this.ruleCount, options.maxDevices ?? DEFAULT_MAX_DEVICES, this.onChange, stores);
    this.reader = new SampleReader(this.rules, this.table, options.lookup, options.onHint ?? (() => undefined));
    for (const store of this.reader.stores) {
      store.resize(this.table.capacity);
      stores.push(store);
    }
    this.deadlines = new AlarmDeadlines(this.table, (k, now) => this.transitions.due(k, now), this.now);
    this.transitions = new AlarmTransitions(this.table, this.rules, this.deadlines, this.onChange, options.onTimerEvents ?? (() => undefined));
    const every = Math.min(3600_000, Math.max(60_000, this.idleMs / 4));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref?.();
  }

  get deviceCount(): number {
    return this.table.deviceCount;
  }

  /** Device slots the alarm table has room for (it grows by doubling and shrinks when mostly free). */
  get slotCapacity(): number {
    return this.table.capacity;
  }

  /**
   * Evaluates one telemetry sample against every rule whose metric it carries. Returns the alarm events of the
   * transitions it caused, or null. Throws (changing nothing) on a missing device id or a non-numeric value.
   */
  process(deviceId: unknown, payload: unknown, msg: Record<string, unknown>, timestamp?: unknown): AlarmEvent[] | null {
    if (!isPlainObject(payload)) throw this.reader.inputError('msg.payload', `must be an object of metrics, got ${describe(payload)}`, payload);
    const idProblem = deviceIdProblem(deviceId);
    if (idProblem) throw this.reader.inputError('msg.deviceId', idProblem, payload);
    const id = deviceId as string;
    const now = this.now();
    const ts = typeof timestamp === 'number' && Number.isFinite(timestamp) ? timestamp : now;
    const existing = this.table.slotOf.get(id);
    const reader = this.reader;
    if (!reader.read(existing ?? -1, id, payload, msg)) return null;
    const s = existing ?? this.table.allocate(id, now);
    this.table.lastSeen[s] = now;
    reader.evaluate(s, ts);
    let events: AlarmEvent[] | null = null;
    const base = s * this.ruleCount;
    for (let r = 0; r < this.rules.length; r++) {
      if (reader.applies[r] === 1) events = this.transitions.apply(base + r, this.rules[r], id, reader.values[r], ts, now, reader, events);
    }
    return events;
  }

  /** ack, shelve (for durationMs), unshelve or reset one rule of a device, or all its rules when rule is omitted. */
  control(op: ControlOp, deviceId: unknown, ruleName?: unknown, durationMs?: unknown): AlarmEvent[] {
    const idProblem = deviceIdProblem(deviceId);
    if (idProblem) throw new M2MError('INVALID_CONTROL', `${op}: msg.deviceId ${idProblem}`, { field: 'deviceId' });
    let rules: readonly CompiledRule[] = this.rules;
    if (ruleName !== undefined && ruleName !== null && ruleName !== '') {
      const rule = typeof ruleName === 'string' ? this.byName.get(ruleName) : undefined;
      if (!rule)
        throw new M2MError('INVALID_CONTROL', `${op}: msg.rule ${describe(ruleName)} is not a rule of this node (${[...this.byName.keys()].join(', ')})`, {
          field: 'rule',
        });
      rules = [rule];
    }
    const now = this.now();
    if (op === 'shelve' && (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs <= 0)) {
      throw new M2MError('INVALID_CONTROL', `shelve: msg.duration must be a positive number of seconds, got ${describe(durationMs)}`, { field: 'duration' });
    }
    const id = deviceId as string;
    let slot = this.table.slotOf.get(id);
    if (slot === undefined) {
      if (op !== 'shelve') return [];
      slot = this.table.allocate(id, now);
    }
    const events: AlarmEvent[] = [];
    const machine = this.transitions;
    for (const rule of rules) {
      const k = slot * this.ruleCount + rule.index;
      if (op === 'ack') machine.acknowledge(k, rule, id, now, events);
      else if (op === 'shelve') machine.shelve(k, rule, id, now, now + (durationMs as number), events);
      else if (op === 'unshelve') machine.unshelve(k, rule, id, now, events);
      else machine.reset(k, rule, id, now, events);
      this.deadlines.reschedule(k, rule);
    }
    this.onChange(id);
    return events;
  }

  /** Active alarms (of one device, or all), with their lifecycle state. */
  list(deviceId?: string): AlarmListing[] {
    const out: AlarmListing[] = [];
    const now = this.now();
    const collect = (slot: number, id: string): void => {
      for (const rule of this.rules) {
        const k = slot * this.ruleCount + rule.index;
        if (this.table.flags[k] & ACTIVE) out.push(alarmListing(this.table, k, rule, id, now));
      }
    };
    if (deviceId !== undefined) {
      const slot = this.table.slotOf.get(deviceId);
      if (slot !== undefined) collect(slot, deviceId);
    } else {
      for (const [id, slot] of this.table.slotOf) collect(slot, id);
    }
    return out;
  }

  /** Whether any rule of this device has an active alarm (cheap check before building a list). */
  hasActive(deviceId: string): boolean {
    const slot = this.table.slotOf.get(deviceId);
    if (slot === undefined) return false;
    for (let r = 0, k = slot * this.ruleCount; r < this.rules.length; r++, k++) if (this.table.flags[k] & ACTIVE) return true;
    return false;
  }

  /** Forgets a device (removed from the registry). */
  removeDevice(deviceId: string): void {
    const slot = this.table.slotOf.get(deviceId);
    if (slot !== undefined) this.table.forget(slot);
  }

  /** The device's type or tags may have changed: work out rule scopes again on its next sample. */
  invalidateScope(deviceId: string): void {
    const slot = this.table.slotOf.get(deviceId);
    if (slot !== undefined) this.reader.forgetScope(slot);
  }

  /** The state of one device to persist, or undefined when there is nothing worth keeping. */
  snapshot(deviceId: string): PersistedAlarm[] | undefined {
    const slot = this.table.slotOf.get(deviceId);
    if (slot === undefined) return undefined;
    let out: PersistedAlarm[] | undefined;
    for (const rule of this.rules) {
      const alarm = encodeAlarm(this.table, slot * this.ruleCount + rule.index, rule);
      if (alarm) (out ??= []).push(alarm);
    }
    return out;
  }

  /** The device's windows and last values to persist (saved with its alarms, and for every device on close). */
  series(deviceId: string): PersistedSeries {
    const slot = this.table.slotOf.get(deviceId);
    if (slot === undefined) return {};
    const series: PersistedSeries = {};
    const windows = this.reader.windows.save(slot);
    if (windows) series.windows = windows;
    const names = this.rules.find((r) => r.kind === 'expression')?.names;
    if (names && names.lastKnown.size) {
      const last: Record<string, number> = {};
      const { data, stride } = this.reader.lastValues;
      for (const m of names.lastKnown) if (data[slot * stride + m] === data[slot * stride + m]) last[names.metrics[m]] = data[slot * stride + m];
      series.last = last;
    }
    return series;
  }

  private holdsLastValues(slot: number): boolean {
    const { data, stride } = this.reader.lastValues;
    for (let i = slot * stride; i < (slot + 1) * stride; i++) if (data[i] === data[i]) return true;
    return false;
  }

  /** Every device id with state worth persisting (alarms, or windows that hold samples). */
  persistedDevices(): string[] {
    const out: string[] = [];
    for (const [id, slot] of this.table.slotOf) {
      if (this.reader.windows.holdsData(slot) || this.holdsLastValues(slot)) {
        out.push(id);
        continue;
      }
      for (let r = 0, k = slot * this.ruleCount; r < this.rules.length; r++, k++) {
        if (this.table.flags[k] & PERSISTED) {
          out.push(id);
          break;
        }
      }
    }
    return out;
  }

  /**
   * Brings back a device's state after a redeploy or restart, silently (no event), and re-arms its deadlines.
   * Deadlines that passed while stopped fire at once. After an unclean stop the last-seen times of no-data rules
   * may be stale, so `exactSeen` false restarts their silence count now rather than raising a false stale alarm.
   */
  restore(deviceId: string, alarms: readonly PersistedAlarm[], exactSeen: boolean, series: PersistedSeries = {}): void {
    if (deviceIdProblem(deviceId)) return;
    const now = this.now();
    let slot: number | undefined;
    const names = this.rules.find((r) => r.kind === 'expression')?.names;
    if (names && (series.windows?.length || series.last)) {
      slot = this.table.slotOf.get(deviceId) ?? this.table.allocate(deviceId, now);
      if (series.windows) this.reader.windows.restore(slot, series.windows);
      const { data, stride } = this.reader.lastValues;
      for (const [metric, value] of Object.entries(series.last ?? {})) {
        const m = names.metrics.indexOf(metric);
        if (m >= 0 && names.lastKnown.has(m)) data[slot * stride + m] = value;
      }
    }
    for (const alarm of alarms) {
      // a rule removed or renamed since: its state has nothing to belong to
      const rule = this.byName.get(alarm.rule);
      if (!rule) continue;
      slot ??= this.table.slotOf.get(deviceId) ?? this.table.allocate(deviceId, now);
      const k = slot * this.ruleCount + rule.index;
      decodeAlarm(this.table, k, rule, alarm, exactSeen ? alarm.lastSeen : now);
      const f = this.table.flags[k];
      // reminders added to the rule since, or a state from before reminders: the first is one period from now
      if (rule.reminderMs > 0 && f & ACTIVE && !(f & ACKED) && Number.isNaN(this.table.remindAt[k])) this.table.remindAt[k] = now + rule.reminderMs;
      this.deadlines.reschedule(k, rule);
    }
  }

  /** Forgets devices silent for idleMs that have no alarm, delay, shelving or no-data watch. */
  sweep(now = this.now()): number {
    const dropped = this.table.forgetIdle(now, this.idleMs);
    if (this.table.shrinkIfMostlyFree()) this.deadlines.rescheduleAll(this.rules);
    return dropped;
  }

  close(): void {
    this.deadlines.close();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}
