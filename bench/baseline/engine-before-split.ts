// The rule engine as it was before lib/rules/engine.ts was split along its concerns (alarm table, flags, state
// codec, transitions), frozen here so that bench/rules.ts can run it beside the split engine in the same run.
// Used only by the bench; not shipped, not tested.
// The rule engine: per device and rule an alarm state machine (ISA-18.2-like: raised unacknowledged,
// acknowledged, cleared; latch; shelve). State lives in typed-array columns indexed by
// key = slot * ruleCount + ruleIndex, so a device-rule costs about 80 bytes and a sample that changes
// nothing allocates nothing. Every deadline (delays, escalation, no-data, shelving) goes through one TimerHeap.
import { M2MError } from '../../lib/errors';
import { deviceIdProblem } from '../../lib/ids';
import { isPlainObject } from '../../lib/safe';
import { type CompiledCondition, type CompiledRule, resolveThreshold } from '../../lib/rules/compile';
import type { AlarmFlag, AlarmNumber, PersistedAlarm } from '../../lib/rules/state-format';
import { TimerHeap } from '../../lib/rules/timer-heap';
import type { AlarmEvent, AlarmEventName, AlarmState, DeviceLookup } from '../../lib/rules/types';

const ACTIVE = 1;
const ACKED = 2;
const ESCALATED = 4;
const PEND_RAISE = 8;
const PEND_CLEAR = 16;
const SHELVED = 32;
const HAS_PREV = 64;
/** latched alarm whose condition is back to normal, waiting for acknowledgement */
const COND_CLEARED = 128;
const SCOPE_KNOWN = 256;
const IN_SCOPE = 512;
/** raised while shelved: announced on unshelve if still active */
const SILENT = 1024;
/** a no-data rule has seen this device and watches it */
const SEEN = 2048;

const PERSISTED = ACTIVE | ACKED | ESCALATED | PEND_RAISE | PEND_CLEAR | SHELVED | COND_CLEARED | SILENT | SEEN;
/** The persisted flags by name, so that a stored state does not depend on these bit positions. */
const FLAG_NAMES: ReadonlyArray<[number, AlarmFlag]> = [
  [ACTIVE, 'active'],
  [ACKED, 'acknowledged'],
  [ESCALATED, 'escalated'],
  [PEND_RAISE, 'pendingRaise'],
  [PEND_CLEAR, 'pendingClear'],
  [SHELVED, 'shelved'],
  [COND_CLEARED, 'conditionCleared'],
  [SILENT, 'raisedWhileShelved'],
  [SEEN, 'watching'],
];

export const DEFAULT_MAX_DEVICES = 100_000;
export const DEFAULT_IDLE_MS = 24 * 3600 * 1000;
/** Messages without a rule's metric, before the rule has ever seen it, after which the node hints at a typo. */
export const MISSING_METRIC_HINT_AFTER = 20;
/** The alarm table never shrinks below this many device slots. */
const MIN_SLOTS = 64;

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
  private readonly lookup?: DeviceLookup;
  private readonly onTimerEvents: (events: AlarmEvent[]) => void;
  private readonly onChange: (deviceId: string) => void;
  private readonly onHint: (message: string) => void;
  /** per rule: messages without its metric while it has never seen it; -1 once seen or hinted */
  private readonly missing: Int32Array;
  private readonly maxDevices: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  private readonly timers: TimerHeap;
  private sweepTimer: NodeJS.Timeout | undefined;

  private readonly slotOf = new Map<string, number>();
  private ids: Array<string | undefined> = [];
  private freeSlots: number[] = [];
  private capacity = 0;
  private lastSeen = new Float64Array(0);
  private flags = new Uint16Array(0);
  private count = new Uint16Array(0);
  private deadline = new Float64Array(0);
  private raisedAt = new Float64Array(0);
  private value = new Float64Array(0);
  private thrLo = new Float64Array(0);
  private thrHi = new Float64Array(0);
  private shelvedUntil = new Float64Array(0);
  private seenAt = new Float64Array(0);
  private prevTs = new Float64Array(0);
  private scheduledAt = new Float64Array(0);

  // Scratch for the validating first pass over a sample, so that a bad sample changes nothing.
  private readonly xs: Float64Array;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private readonly clo: Float64Array;
  private readonly chi: Float64Array;
  private readonly applies: Uint8Array;

  constructor(options: EngineOptions) {
    this.rules = options.rules;
    this.ruleCount = Math.max(1, options.rules.length);
    for (const rule of options.rules) this.byName.set(rule.name, rule);
    this.lookup = options.lookup;
    this.onTimerEvents = options.onTimerEvents ?? (() => undefined);
    this.onChange = options.onChange ?? (() => undefined);
    this.onHint = options.onHint ?? (() => undefined);
    this.missing = new Int32Array(this.ruleCount);
    this.maxDevices = options.maxDevices ?? DEFAULT_MAX_DEVICES;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.now = options.now ?? (() => Date.now());
    this.timers = new TimerHeap((key, deadline, now) => this.fire(key, deadline, now), this.now);
    const n = this.ruleCount;
    this.xs = new Float64Array(n);
    this.lo = new Float64Array(n);
    this.hi = new Float64Array(n);
    this.clo = new Float64Array(n);
    this.chi = new Float64Array(n);
    this.applies = new Uint8Array(n);
    this.grow(MIN_SLOTS);
    const every = Math.min(3600_000, Math.max(60_000, this.idleMs / 4));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref?.();
  }

  get deviceCount(): number {
    return this.slotOf.size;
  }

  /** Device slots the alarm table has room for (it grows by doubling and shrinks when mostly free). */
  get slotCapacity(): number {
    return this.capacity;
  }

  /**
   * Evaluates one telemetry sample against every rule whose metric it carries. Returns the alarm events of the
   * transitions it caused, or null. Throws (changing nothing) on a missing device id or a non-numeric value.
   */
  process(deviceId: unknown, payload: unknown, msg: Record<string, unknown>, timestamp?: unknown): AlarmEvent[] | null {
    if (!isPlainObject(payload)) throw this.inputError('msg.payload', `must be an object of metrics, got ${describe(payload)}`, payload);
    const idProblem = deviceIdProblem(deviceId);
    if (idProblem) throw this.inputError('msg.deviceId', idProblem, payload);
    const id = deviceId as string;
    const now = this.now();
    const ts = typeof timestamp === 'number' && Number.isFinite(timestamp) ? timestamp : now;
    const existing = this.slotOf.get(id);
    const slot = existing ?? -1;
    let any = false;
    for (let r = 0; r < this.rules.length; r++) {
      const rule = this.rules[r];
      const raw = metricOf(payload, rule.metric);
      this.applies[r] = 0;
      if (raw === undefined) {
        if (this.missing[r] >= 0) this.countMissing(slot, r, id, rule, payload);
        continue;
      }
      if (!this.inScope(slot, r, id, rule)) continue;
      this.missing[r] = -1;
      const x = typeof raw === 'number' ? raw : typeof raw === 'boolean' ? (raw ? 1 : 0) : NaN;
      if (!Number.isFinite(x)) {
        throw new M2MError('NOT_A_NUMBER', `rule "${rule.name}" metric "${rule.metric}": value ${describe(raw)} is not a number`, {
          field: `payload.${rule.metric}`,
        });
      }
      this.xs[r] = x;
      this.lo[r] = this.threshold(rule, rule.raise, rule.raise.lo, id, msg);
      this.hi[r] = this.threshold(rule, rule.raise, rule.raise.hi, id, msg);
      const clear = rule.clear ?? rule.raise;
      this.clo[r] = rule.clear ? this.threshold(rule, clear, clear.lo, id, msg) : this.lo[r];
      this.chi[r] = rule.clear ? this.threshold(rule, clear, clear.hi, id, msg) : this.hi[r];
      this.applies[r] = 1;
      any = true;
    }
    if (!any) return null;
    const s = existing ?? this.allocate(id, now);
    this.lastSeen[s] = now;
    let events: AlarmEvent[] | null = null;
    const base = s * this.ruleCount;
    for (let r = 0; r < this.rules.length; r++) {
      if (this.applies[r] === 1) events = this.apply(base + r, this.rules[r], id, this.xs[r], ts, now, events);
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
    let slot = this.slotOf.get(id);
    if (slot === undefined) {
      if (op !== 'shelve') return [];
      slot = this.allocate(id, now);
    }
    const events: AlarmEvent[] = [];
    for (const rule of rules) {
      const k = slot * this.ruleCount + rule.index;
      if (op === 'ack') this.acknowledge(k, rule, id, now, events);
      else if (op === 'shelve') this.shelve(k, rule, id, now, now + (durationMs as number), events);
      else if (op === 'unshelve') this.unshelve(k, rule, id, now, events);
      else this.reset(k, rule, id, now, events);
      this.schedule(k, this.nextDue(k, rule));
    }
    this.onChange(id);
    return events;
  }

  /** Active alarms (of one device, or all), with their lifecycle state. */
  list(deviceId?: string): AlarmState[] {
    const out: AlarmState[] = [];
    const collect = (slot: number, id: string): void => {
      for (const rule of this.rules) {
        const k = slot * this.ruleCount + rule.index;
        if (this.flags[k] & ACTIVE) out.push(this.alarmState(k, rule, id));
      }
    };
    if (deviceId !== undefined) {
      const slot = this.slotOf.get(deviceId);
      if (slot !== undefined) collect(slot, deviceId);
    } else {
      for (const [id, slot] of this.slotOf) collect(slot, id);
    }
    return out;
  }

  /** Whether any rule of this device has an active alarm (cheap check before building a list). */
  hasActive(deviceId: string): boolean {
    const slot = this.slotOf.get(deviceId);
    if (slot === undefined) return false;
    for (let r = 0, k = slot * this.ruleCount; r < this.rules.length; r++, k++) if (this.flags[k] & ACTIVE) return true;
    return false;
  }

  /** Forgets a device (removed from the registry). */
  removeDevice(deviceId: string): void {
    const slot = this.slotOf.get(deviceId);
    if (slot === undefined) return;
    this.release(slot);
    this.onChange(deviceId);
  }

  /** The device's type or tags may have changed: work out rule scopes again on its next sample. */
  invalidateScope(deviceId: string): void {
    const slot = this.slotOf.get(deviceId);
    if (slot === undefined) return;
    for (let r = 0, k = slot * this.ruleCount; r < this.ruleCount; r++, k++) this.flags[k] &= ~(SCOPE_KNOWN | IN_SCOPE);
  }

  /** The state of one device to persist, or undefined when there is nothing worth keeping. */
  snapshot(deviceId: string): PersistedAlarm[] | undefined {
    const slot = this.slotOf.get(deviceId);
    if (slot === undefined) return undefined;
    let out: PersistedAlarm[] | undefined;
    for (const rule of this.rules) {
      const k = slot * this.ruleCount + rule.index;
      const f = this.flags[k] & PERSISTED;
      if (f === 0) continue;
      const alarm: PersistedAlarm = { rule: rule.name };
      for (const [bit, name] of FLAG_NAMES) if (f & bit) alarm[name] = true;
      const numbers: Array<[AlarmNumber, number]> = [
        ['samples', this.count[k]],
        ['deadline', this.deadline[k]],
        ['raisedAt', this.raisedAt[k]],
        ['value', this.value[k]],
        ['thresholdLo', this.thrLo[k]],
        ['thresholdHi', this.thrHi[k]],
        ['shelvedUntil', this.shelvedUntil[k]],
        ['lastSeen', this.seenAt[k]],
      ];
      for (const [name, n] of numbers) if (!Number.isNaN(n)) alarm[name] = n;
      (out ??= []).push(alarm);
    }
    return out;
  }

  /** Every device id with state worth persisting. */
  persistedDevices(): string[] {
    const out: string[] = [];
    for (const [id, slot] of this.slotOf) {
      for (let r = 0, k = slot * this.ruleCount; r < this.rules.length; r++, k++) {
        if (this.flags[k] & PERSISTED) {
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
  restore(deviceId: string, alarms: readonly PersistedAlarm[], exactSeen: boolean): void {
    if (deviceIdProblem(deviceId)) return;
    const now = this.now();
    let slot: number | undefined;
    for (const alarm of alarms) {
      // a rule removed or renamed since: its state has nothing to belong to
      const rule = this.byName.get(alarm.rule);
      if (!rule) continue;
      slot ??= this.slotOf.get(deviceId) ?? this.allocate(deviceId, now);
      const k = slot * this.ruleCount + rule.index;
      let f = 0;
      for (const [bit, name] of FLAG_NAMES) if (alarm[name] === true) f |= bit;
      if (rule.nodataMs === 0) f &= ~SEEN;
      this.flags[k] = f;
      this.count[k] = Math.min(65535, Math.max(0, alarm.samples ?? 0));
      this.deadline[k] = alarm.deadline ?? NaN;
      this.raisedAt[k] = alarm.raisedAt ?? NaN;
      this.value[k] = alarm.value ?? NaN;
      this.thrLo[k] = alarm.thresholdLo ?? NaN;
      this.thrHi[k] = alarm.thresholdHi ?? NaN;
      this.shelvedUntil[k] = alarm.shelvedUntil ?? NaN;
      this.seenAt[k] = exactSeen ? (alarm.lastSeen ?? NaN) : now;
      this.schedule(k, this.nextDue(k, rule));
    }
  }

  /** Forgets devices silent for idleMs that have no alarm, delay, shelving or no-data watch. */
  sweep(now = this.now()): number {
    let dropped = 0;
    for (const [id, slot] of this.slotOf) {
      if (now - this.lastSeen[slot] >= this.idleMs && this.isQuiet(slot)) {
        this.release(slot);
        this.onChange(id);
        dropped++;
      }
    }
    if (this.capacity > MIN_SLOTS && this.slotOf.size * 4 <= this.capacity) this.compact();
    return dropped;
  }

  close(): void {
    this.timers.close();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  // ---- the state machine -------------------------------------------------------------------------------

  private apply(k: number, rule: CompiledRule, id: string, x: number, ts: number, now: number, events: AlarmEvent[] | null): AlarmEvent[] | null {
    let f = this.flags[k];
    const r = rule.index;
    let raiseCond: boolean;
    let clearCond: boolean;
    if (rule.nodataMs > 0) {
      raiseCond = false;
      clearCond = true;
      this.seenAt[k] = now;
      if (!(f & SEEN)) {
        f |= SEEN;
        this.flags[k] = f;
        this.onChange(id);
      }
    } else {
      let subject = x;
      if (rule.isRate) {
        subject = NaN;
        if (f & HAS_PREV && ts > this.prevTs[k]) {
          const rate = ((x - this.value[k]) / (ts - this.prevTs[k])) * rule.raise.rateFactor;
          const dir = rule.raise.direction;
          subject = dir > 0 ? rate : dir < 0 ? -rate : Math.abs(rate);
        }
        this.prevTs[k] = ts;
        f |= HAS_PREV;
        this.flags[k] = f;
      }
      raiseCond = rule.raise.test(subject, this.lo[r], this.hi[r]);
      clearCond = rule.clear ? rule.clear.test(x, this.clo[r], this.chi[r]) : subject === subject && !raiseCond;
    }
    this.value[k] = x;

    if (!(f & ACTIVE)) {
      if (raiseCond) {
        if (!(f & PEND_RAISE)) {
          f |= PEND_RAISE;
          this.flags[k] = f;
          this.count[k] = 0;
          this.deadline[k] = now + rule.raiseMs;
          this.setThreshold(k, rule.raise, this.lo[r], this.hi[r]);
        }
        if (this.count[k] < 65535) this.count[k]++;
        if (this.count[k] >= rule.raiseSamples && now >= this.deadline[k]) {
          events = this.raise(k, rule, id, now, events);
        } else {
          this.onChange(id);
          this.schedule(k, this.nextDue(k, rule));
        }
      } else if (f & PEND_RAISE) {
        this.flags[k] = f & ~PEND_RAISE;
        this.count[k] = 0;
        this.onChange(id);
      }
      if (rule.nodataMs > 0) this.schedule(k, now + rule.nodataMs);
      return events;
    }

    if (f & COND_CLEARED) {
      // latched and back to normal, waiting for acknowledgement; a new excursion keeps it simply active
      if (raiseCond) {
        this.flags[k] = f & ~COND_CLEARED;
        this.onChange(id);
      }
      return events;
    }
    if (clearCond) {
      const clear = rule.clear ?? rule.raise;
      if (!(f & PEND_CLEAR)) {
        f |= PEND_CLEAR;
        this.flags[k] = f;
        this.deadline[k] = now + rule.clearMs;
        this.setThreshold(k, clear, this.clo[r], this.chi[r]);
        if (rule.nodataMs > 0) this.setThreshold(k, clear, rule.nodataMs / 1000, NaN);
      }
      if (now >= this.deadline[k]) events = this.clearAlarm(k, rule, id, now, events);
      else {
        this.onChange(id);
        this.schedule(k, this.nextDue(k, rule));
      }
    } else if (f & PEND_CLEAR) {
      this.flags[k] = f & ~PEND_CLEAR;
      this.onChange(id);
    }
    return events;
  }

  private raise(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[] | null): AlarmEvent[] | null {
    const keep = this.flags[k] & (SHELVED | HAS_PREV | SCOPE_KNOWN | IN_SCOPE | SEEN);
    this.flags[k] = keep | ACTIVE;
    this.count[k] = 0;
    this.raisedAt[k] = now;
    if (rule.nodataMs > 0) this.setThreshold(k, rule.raise, rule.nodataMs / 1000, NaN);
    events = this.emit(k, rule, id, 'raised', now, events);
    this.schedule(k, this.nextDue(k, rule));
    this.onChange(id);
    return events;
  }

  private clearAlarm(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[] | null): AlarmEvent[] | null {
    const f = this.flags[k];
    if (rule.latch && !(f & ACKED)) {
      this.flags[k] = (f & ~PEND_CLEAR) | COND_CLEARED;
      this.onChange(id);
      return events;
    }
    this.flags[k] = f & ~(ACTIVE | PEND_CLEAR);
    events = this.emit(k, rule, id, 'cleared', now, events);
    this.flags[k] &= ~(ACKED | ESCALATED | COND_CLEARED | SILENT);
    this.raisedAt[k] = NaN;
    this.schedule(k, this.nextDue(k, rule));
    this.onChange(id);
    return events;
  }

  private acknowledge(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[]): void {
    const f = this.flags[k];
    if (!(f & ACTIVE) || f & ACKED) return;
    this.flags[k] = f | ACKED;
    this.emit(k, rule, id, 'acknowledged', now, events);
    if (f & COND_CLEARED) this.clearAlarm(k, rule, id, now, events);
  }

  private shelve(k: number, rule: CompiledRule, id: string, now: number, until: number, events: AlarmEvent[]): void {
    this.flags[k] |= SHELVED;
    this.shelvedUntil[k] = until;
    this.emit(k, rule, id, 'shelved', now, events);
  }

  private unshelve(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[]): void {
    const f = this.flags[k];
    if (!(f & SHELVED)) return;
    this.flags[k] = f & ~(SHELVED | SILENT);
    this.shelvedUntil[k] = NaN;
    this.emit(k, rule, id, 'unshelved', now, events);
    // an alarm that came up while shelved is announced now, so it is not missed
    if (f & SILENT && f & ACTIVE) this.emit(k, rule, id, 'raised', now, events);
  }

  private reset(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[]): void {
    const f = this.flags[k];
    if (f & ACTIVE) {
      this.flags[k] = f & ~(ACTIVE | SHELVED);
      this.emit(k, rule, id, 'cleared', now, events);
    }
    this.flags[k] = f & (SCOPE_KNOWN | IN_SCOPE);
    this.count[k] = 0;
    this.raisedAt[k] = NaN;
    this.shelvedUntil[k] = NaN;
  }

  /** Runs whatever is due for one device-rule when its timer comes up. */
  private fire(k: number, deadline: number, now: number): void {
    if (this.scheduledAt[k] !== deadline) return; // superseded by an earlier entry
    this.scheduledAt[k] = NaN;
    const slot = Math.floor(k / this.ruleCount);
    const id = this.ids[slot];
    const rule = this.rules[k - slot * this.ruleCount];
    if (id === undefined || rule === undefined) return;
    let events: AlarmEvent[] | null = null;
    let f = this.flags[k];
    if (f & PEND_RAISE && now >= this.deadline[k] && this.count[k] >= rule.raiseSamples) events = this.raise(k, rule, id, now, events);
    f = this.flags[k];
    if (f & PEND_CLEAR && now >= this.deadline[k]) events = this.clearAlarm(k, rule, id, now, events);
    f = this.flags[k];
    if (f & ACTIVE && !(f & ESCALATED) && rule.escalateMs > 0 && now >= this.raisedAt[k] + rule.escalateMs) {
      this.flags[k] = f | ESCALATED;
      events = this.emit(k, rule, id, 'escalated', now, events);
      this.onChange(id);
    }
    f = this.flags[k];
    if (rule.nodataMs > 0 && f & SEEN && !(f & ACTIVE) && now >= this.seenAt[k] + rule.nodataMs) events = this.raise(k, rule, id, now, events);
    f = this.flags[k];
    if (f & SHELVED && now >= this.shelvedUntil[k]) {
      events ??= [];
      this.unshelve(k, rule, id, now, events);
      this.onChange(id);
    }
    this.schedule(k, this.nextDue(k, rule));
    if (events) this.onTimerEvents(events);
  }

  private nextDue(k: number, rule: CompiledRule): number {
    const f = this.flags[k];
    let due = Infinity;
    // a raise delay needs its timer only once enough samples came in; later samples raise it themselves otherwise
    if (f & PEND_RAISE && rule.raiseMs > 0 && this.count[k] >= rule.raiseSamples) due = this.deadline[k];
    if (f & PEND_CLEAR) due = this.deadline[k];
    if (f & ACTIVE && !(f & ESCALATED) && rule.escalateMs > 0) due = Math.min(due, this.raisedAt[k] + rule.escalateMs);
    if (rule.nodataMs > 0 && f & SEEN && !(f & ACTIVE)) due = Math.min(due, this.seenAt[k] + rule.nodataMs);
    if (f & SHELVED) due = Math.min(due, this.shelvedUntil[k]);
    return due;
  }

  /** Makes sure the key's timer comes up no later than `at`; an earlier pending entry already covers it. */
  private schedule(k: number, at: number): void {
    if (!(at < Infinity)) return;
    const current = this.scheduledAt[k];
    if (current <= at) return;
    this.scheduledAt[k] = at;
    this.timers.push(at, k);
  }

  private emit(k: number, rule: CompiledRule, id: string, event: AlarmEventName, now: number, events: AlarmEvent[] | null): AlarmEvent[] | null {
    const f = this.flags[k];
    if (f & SHELVED && event !== 'shelved' && event !== 'unshelved') {
      if (event === 'raised') this.flags[k] |= SILENT;
      return events;
    }
    const state = this.alarmState(k, rule, id);
    // what an operator scans for comes first: the debug sidebar's collapsed view shows only the first keys
    const payload: AlarmEvent = {
      event,
      severity: state.severity,
      deviceId: id,
      rule: rule.name,
      text: '',
      metric: rule.metric,
      value: state.value,
      threshold: state.threshold,
      active: state.active,
      acknowledged: state.acknowledged,
      alarmId: state.alarmId,
      raisedAt: state.raisedAt,
      ts: now,
    };
    payload.text = rule.text[event](payload);
    events ??= [];
    events.push(payload);
    return events;
  }

  private alarmState(k: number, rule: CompiledRule, id: string): AlarmState {
    const f = this.flags[k];
    const raisedAt = nullIfNaN(this.raisedAt[k]);
    const lo = nullIfNaN(this.thrLo[k]);
    const hi = nullIfNaN(this.thrHi[k]);
    return {
      alarmId: raisedAt === null ? null : `${id}:${rule.name}:${raisedAt}`,
      deviceId: id,
      rule: rule.name,
      metric: rule.metric,
      severity: f & ESCALATED ? rule.escalateTo : rule.severity,
      active: (f & ACTIVE) !== 0,
      acknowledged: (f & ACKED) !== 0,
      conditionCleared: (f & COND_CLEARED) !== 0,
      shelved: (f & SHELVED) !== 0,
      shelvedUntil: f & SHELVED ? nullIfNaN(this.shelvedUntil[k]) : null,
      value: nullIfNaN(this.value[k]),
      threshold: lo === null ? null : hi === null ? lo : [lo, hi],
      raisedAt,
    };
  }

  private setThreshold(k: number, cond: CompiledCondition, lo: number, hi: number): void {
    this.thrLo[k] = lo;
    this.thrHi[k] = cond.hi ? hi : NaN;
  }

  private threshold(rule: CompiledRule, cond: CompiledCondition, src: CompiledCondition['lo'], id: string, msg: Record<string, unknown>): number {
    if (src === null) return NaN;
    if (src.kind === 'num') return src.num;
    const value = resolveThreshold(src, id, msg, this.lookup);
    if (Number.isNaN(value)) {
      throw new M2MError(
        'NO_THRESHOLD',
        `rule "${rule.name}" metric "${rule.metric}": threshold ${src.describe} of ${cond.op} is missing or not a number for device ${id}`,
        {
          field: src.kind === 'msg' ? src.path.join('.') : `attributes.${src.path[0]}`,
        },
      );
    }
    return value;
  }

  private inScope(slot: number, r: number, id: string, rule: CompiledRule): boolean {
    if (rule.scope === 'all') return true;
    if (slot >= 0) {
      const k = slot * this.ruleCount + r;
      const f = this.flags[k];
      if (f & SCOPE_KNOWN) return (f & IN_SCOPE) !== 0;
      const inside = this.computeScope(id, rule);
      this.flags[k] = f | SCOPE_KNOWN | (inside ? IN_SCOPE : 0);
      return inside;
    }
    return this.computeScope(id, rule);
  }

  private computeScope(id: string, rule: CompiledRule): boolean {
    const facts = this.lookup?.(id);
    if (!facts) return false;
    return rule.scope === 'type' ? facts.type === rule.scopeValue : facts.tags.includes(rule.scopeValue);
  }

  /** Counts a message without the rule's metric; hints once when none of the first ones carried it. */
  private countMissing(slot: number, r: number, id: string, rule: CompiledRule, payload: Record<string, unknown>): void {
    if (!this.inScope(slot, r, id, rule) || ++this.missing[r] < MISSING_METRIC_HINT_AFTER) return;
    this.missing[r] = -1;
    const carried = Object.keys(payload)
      .slice(0, 8)
      .map((m) => JSON.stringify(m.slice(0, 40)));
    this.onHint(
      `rule "${rule.name}": none of the first ${MISSING_METRIC_HINT_AFTER} messages carried metric "${rule.metric}" (the last one had ${carried.join(', ') || 'no metrics'}); check the rule's metric name`,
    );
  }

  private inputError(field: string, problem: string, payload: unknown): M2MError {
    const used = isPlainObject(payload) ? this.rules.filter((r) => metricOf(payload, r.metric) !== undefined) : [];
    const which = (used.length ? used : this.rules).map((r) => `"${r.name}" (${r.metric})`).join(', ');
    return new M2MError(field === 'msg.deviceId' ? 'INVALID_DEVICE_ID' : 'INVALID_PAYLOAD', `${field} ${problem}; needed by rule ${which}`, { field });
  }

  // ---- slots -------------------------------------------------------------------------------------------

  private isQuiet(slot: number): boolean {
    for (let r = 0, k = slot * this.ruleCount; r < this.ruleCount; r++, k++) if (this.flags[k] & PERSISTED) return false;
    return true;
  }

  private allocate(id: string, now: number): number {
    if (this.slotOf.size >= this.maxDevices) this.evictIdle();
    if (this.slotOf.size >= this.maxDevices) {
      throw new M2MError('STATE_FULL', `rule state holds ${this.maxDevices} devices, all with alarms, delays or shelving; device ${id} is not tracked`, {
        field: 'deviceId',
      });
    }
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.ids.length;
      if (slot >= this.capacity) this.grow(this.capacity * 2);
      this.ids.push(id);
    } else {
      this.ids[slot] = id;
    }
    this.slotOf.set(id, slot);
    this.lastSeen[slot] = now;
    return slot;
  }

  /** At the device cap: forget the least recently seen tenth of the quiet devices. */
  private evictIdle(): void {
    const quiet: Array<[number, number]> = [];
    for (const slot of this.slotOf.values()) if (this.isQuiet(slot)) quiet.push([this.lastSeen[slot], slot]);
    quiet.sort((a, b) => a[0] - b[0]);
    const drop = quiet.slice(0, Math.max(1, Math.ceil(this.maxDevices / 10)));
    for (const [, slot] of drop) {
      const id = this.ids[slot] as string;
      this.release(slot);
      this.onChange(id);
    }
  }

  private release(slot: number): void {
    const id = this.ids[slot];
    if (id === undefined) return;
    this.slotOf.delete(id);
    this.ids[slot] = undefined;
    this.freeSlots.push(slot);
    for (let r = 0, k = slot * this.ruleCount; r < this.ruleCount; r++, k++) this.clearKey(k);
  }

  private clearKey(k: number): void {
    this.flags[k] = 0;
    this.count[k] = 0;
    this.deadline[k] = NaN;
    this.raisedAt[k] = NaN;
    this.value[k] = NaN;
    this.thrLo[k] = NaN;
    this.thrHi[k] = NaN;
    this.shelvedUntil[k] = NaN;
    this.seenAt[k] = NaN;
    this.prevTs[k] = NaN;
    this.scheduledAt[k] = NaN;
  }

  /**
   * Moves the devices still tracked to the front of a smaller table, so that memory follows the fleet down
   * after devices go idle. Timer keys name slots, so every device-rule is scheduled again at its next deadline.
   */
  private compact(): void {
    const live = [...this.slotOf.entries()];
    let slots = MIN_SLOTS;
    while (slots < live.length * 2) slots *= 2;
    const old = {
      lastSeen: this.lastSeen,
      flags: this.flags,
      count: this.count,
      deadline: this.deadline,
      raisedAt: this.raisedAt,
      value: this.value,
      thrLo: this.thrLo,
      thrHi: this.thrHi,
      shelvedUntil: this.shelvedUntil,
      seenAt: this.seenAt,
      prevTs: this.prevTs,
    };
    this.capacity = 0;
    this.lastSeen = new Float64Array(0);
    this.flags = new Uint16Array(0);
    this.count = new Uint16Array(0);
    for (const column of ['deadline', 'raisedAt', 'value', 'thrLo', 'thrHi', 'shelvedUntil', 'seenAt', 'prevTs', 'scheduledAt'] as const)
      this[column] = new Float64Array(0);
    this.grow(slots);
    this.timers.clear();
    this.ids = [];
    this.freeSlots = [];
    const n = this.ruleCount;
    live.forEach(([id, from], to) => {
      this.ids.push(id);
      this.slotOf.set(id, to);
      this.lastSeen[to] = old.lastSeen[from];
      const src = from * n;
      const dst = to * n;
      this.flags.set(old.flags.subarray(src, src + n), dst);
      this.count.set(old.count.subarray(src, src + n), dst);
      for (const column of ['deadline', 'raisedAt', 'value', 'thrLo', 'thrHi', 'shelvedUntil', 'seenAt', 'prevTs'] as const) {
        this[column].set(old[column].subarray(src, src + n), dst);
      }
      for (let r = 0; r < this.rules.length; r++) this.schedule(dst + r, this.nextDue(dst + r, this.rules[r]));
    });
  }

  private grow(slots: number): void {
    const from = this.capacity * this.ruleCount;
    const n = slots * this.ruleCount;
    const f64 = (old: Float64Array): Float64Array<ArrayBuffer> => {
      const next = new Float64Array(n);
      next.set(old);
      return next;
    };
    const lastSeen = new Float64Array(slots);
    lastSeen.set(this.lastSeen);
    this.lastSeen = lastSeen;
    const flags = new Uint16Array(n);
    flags.set(this.flags);
    this.flags = flags;
    const count = new Uint16Array(n);
    count.set(this.count);
    this.count = count;
    this.deadline = f64(this.deadline);
    this.raisedAt = f64(this.raisedAt);
    this.value = f64(this.value);
    this.thrLo = f64(this.thrLo);
    this.thrHi = f64(this.thrHi);
    this.shelvedUntil = f64(this.shelvedUntil);
    this.seenAt = f64(this.seenAt);
    this.prevTs = f64(this.prevTs);
    this.scheduledAt = f64(this.scheduledAt);
    this.capacity = slots;
    for (let k = from; k < n; k++) this.clearKey(k);
  }
}

/** The payload's own value for a metric: a metric named like an Object method (valueOf, toString) is not inherited. */
function metricOf(payload: Record<string, unknown>, metric: string): unknown {
  const raw = payload[metric];
  return raw === undefined || typeof raw === 'number' || Object.hasOwn(payload, metric) ? raw : undefined;
}

function nullIfNaN(n: number): number | null {
  return Number.isNaN(n) ? null : n;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
