// The alarm state machine of one device-rule (ISA-18.2-like: raised unacknowledged, acknowledged, cleared; latch;
// shelve), over the columns of the alarm table: what a sample, an operator's action or a deadline changes.
// Events of a deadline go to onTimerEvents, the others back to the caller.
import * as flags from './alarm-flags';
import type { AlarmDeadlines } from './alarm-deadlines';
import type { AlarmTable } from './alarm-table';
import { alarmEvent } from './alarm-view';
import type { CompiledCondition, CompiledRule } from './compile';
import type { AlarmEvent, AlarmEventName } from './types';

// Copied once: on the per-sample path, an import compiled to CommonJS (tsx, ts-node) is a getter call per use.
const { ACKED, ACTIVE, COND_CLEARED, ESCALATED, HAS_PREV, IN_SCOPE, PEND_CLEAR, PEND_RAISE, SCOPE_KNOWN, SEEN, SHELVED, SILENT } = flags;

/** A validated sample's thresholds by rule index (the first pass's scratch, see sample-reader.ts). */
export interface SampleThresholds {
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly clo: Float64Array;
  readonly chi: Float64Array;
}

export class AlarmTransitions {
  constructor(
    private readonly table: AlarmTable,
    private readonly rules: readonly CompiledRule[],
    private readonly deadlines: AlarmDeadlines,
    /** a device's persisted state changed */
    private readonly onChange: (deviceId: string) => void,
    private readonly onTimerEvents: (events: AlarmEvent[]) => void,
  ) {}

  /** Feeds one rule's value of a sample to its device-rule `k`. */
  apply(k: number, rule: CompiledRule, id: string, x: number, ts: number, now: number, thr: SampleThresholds, events: AlarmEvent[] | null): AlarmEvent[] | null {
    const t = this.table;
    let f = t.flags[k];
    const r = rule.index;
    let raiseCond: boolean;
    let clearCond: boolean;
    if (rule.nodataMs > 0) {
      raiseCond = false;
      clearCond = true;
      t.seenAt[k] = now;
      if (!(f & SEEN)) {
        f |= SEEN;
        t.flags[k] = f;
        this.onChange(id);
      }
    } else {
      let subject = x;
      if (rule.isRate) {
        subject = NaN;
        if (f & HAS_PREV && ts > t.prevTs[k]) {
          const rate = ((x - t.value[k]) / (ts - t.prevTs[k])) * rule.raise.rateFactor;
          const dir = rule.raise.direction;
          subject = dir > 0 ? rate : dir < 0 ? -rate : Math.abs(rate);
        }
        t.prevTs[k] = ts;
        f |= HAS_PREV;
        t.flags[k] = f;
      }
      raiseCond = rule.raise.test(subject, thr.lo[r], thr.hi[r]);
      clearCond = rule.clear ? rule.clear.test(x, thr.clo[r], thr.chi[r]) : subject === subject && !raiseCond;
    }
    t.value[k] = x;

    if (!(f & ACTIVE)) {
      if (raiseCond) {
        if (!(f & PEND_RAISE)) {
          f |= PEND_RAISE;
          t.flags[k] = f;
          t.count[k] = 0;
          t.deadline[k] = now + rule.raiseMs;
          this.setThreshold(k, rule.raise, thr.lo[r], thr.hi[r]);
        }
        if (t.count[k] < 65535) t.count[k]++;
        if (t.count[k] >= rule.raiseSamples && now >= t.deadline[k]) {
          events = this.raise(k, rule, id, now, events);
        } else {
          this.onChange(id);
          this.deadlines.reschedule(k, rule);
        }
      } else if (f & PEND_RAISE) {
        t.flags[k] = f & ~PEND_RAISE;
        t.count[k] = 0;
        this.onChange(id);
      }
      if (rule.nodataMs > 0) this.deadlines.schedule(k, now + rule.nodataMs);
      return events;
    }

    if (f & COND_CLEARED) {
      // latched and back to normal, waiting for acknowledgement; a new excursion keeps it simply active
      if (raiseCond) {
        t.flags[k] = f & ~COND_CLEARED;
        this.onChange(id);
      }
      return events;
    }
    if (clearCond) {
      const clear = rule.clear ?? rule.raise;
      if (!(f & PEND_CLEAR)) {
        f |= PEND_CLEAR;
        t.flags[k] = f;
        t.deadline[k] = now + rule.clearMs;
        this.setThreshold(k, clear, thr.clo[r], thr.chi[r]);
        if (rule.nodataMs > 0) this.setThreshold(k, clear, rule.nodataMs / 1000, NaN);
      }
      if (now >= t.deadline[k]) events = this.clearAlarm(k, rule, id, now, events);
      else {
        this.onChange(id);
        this.deadlines.reschedule(k, rule);
      }
    } else if (f & PEND_CLEAR) {
      t.flags[k] = f & ~PEND_CLEAR;
      this.onChange(id);
    }
    return events;
  }

  acknowledge(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[]): void {
    const f = this.table.flags[k];
    if (!(f & ACTIVE) || f & ACKED) return;
    this.table.flags[k] = f | ACKED;
    this.emit(k, rule, id, 'acknowledged', now, events);
    if (f & COND_CLEARED) this.clearAlarm(k, rule, id, now, events);
  }

  shelve(k: number, rule: CompiledRule, id: string, now: number, until: number, events: AlarmEvent[]): void {
    this.table.flags[k] |= SHELVED;
    this.table.shelvedUntil[k] = until;
    this.emit(k, rule, id, 'shelved', now, events);
  }

  unshelve(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[]): void {
    const f = this.table.flags[k];
    if (!(f & SHELVED)) return;
    this.table.flags[k] = f & ~(SHELVED | SILENT);
    this.table.shelvedUntil[k] = NaN;
    this.emit(k, rule, id, 'unshelved', now, events);
    // an alarm that came up while shelved is announced now, so it is not missed
    if (f & SILENT && f & ACTIVE) this.emit(k, rule, id, 'raised', now, events);
  }

  reset(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[]): void {
    const t = this.table;
    const f = t.flags[k];
    if (f & ACTIVE) {
      t.flags[k] = f & ~(ACTIVE | SHELVED);
      this.emit(k, rule, id, 'cleared', now, events);
    }
    t.flags[k] = f & (SCOPE_KNOWN | IN_SCOPE);
    t.count[k] = 0;
    t.raisedAt[k] = NaN;
    t.shelvedUntil[k] = NaN;
  }

  private raise(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[] | null): AlarmEvent[] | null {
    const t = this.table;
    const keep = t.flags[k] & (SHELVED | HAS_PREV | SCOPE_KNOWN | IN_SCOPE | SEEN);
    t.flags[k] = keep | ACTIVE;
    t.count[k] = 0;
    t.raisedAt[k] = now;
    if (rule.nodataMs > 0) this.setThreshold(k, rule.raise, rule.nodataMs / 1000, NaN);
    events = this.emit(k, rule, id, 'raised', now, events);
    this.deadlines.reschedule(k, rule);
    this.onChange(id);
    return events;
  }

  private clearAlarm(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[] | null): AlarmEvent[] | null {
    const t = this.table;
    const f = t.flags[k];
    if (rule.latch && !(f & ACKED)) {
      t.flags[k] = (f & ~PEND_CLEAR) | COND_CLEARED;
      this.onChange(id);
      return events;
    }
    t.flags[k] = f & ~(ACTIVE | PEND_CLEAR);
    events = this.emit(k, rule, id, 'cleared', now, events);
    t.flags[k] &= ~(ACKED | ESCALATED | COND_CLEARED | SILENT);
    t.raisedAt[k] = NaN;
    this.deadlines.reschedule(k, rule);
    this.onChange(id);
    return events;
  }

  /** Runs whatever is due for one device-rule when its timer comes up (AlarmDeadlines' onDue). */
  due(k: number, now: number): void {
    const t = this.table;
    const slot = Math.floor(k / t.ruleCount);
    const id = t.ids[slot];
    const rule = this.rules[k - slot * t.ruleCount];
    if (id === undefined || rule === undefined) return;
    let events: AlarmEvent[] | null = null;
    let f = t.flags[k];
    if (f & PEND_RAISE && now >= t.deadline[k] && t.count[k] >= rule.raiseSamples) events = this.raise(k, rule, id, now, events);
    f = t.flags[k];
    if (f & PEND_CLEAR && now >= t.deadline[k]) events = this.clearAlarm(k, rule, id, now, events);
    f = t.flags[k];
    if (f & ACTIVE && !(f & ESCALATED) && rule.escalateMs > 0 && now >= t.raisedAt[k] + rule.escalateMs) {
      t.flags[k] = f | ESCALATED;
      events = this.emit(k, rule, id, 'escalated', now, events);
      this.onChange(id);
    }
    f = t.flags[k];
    if (rule.nodataMs > 0 && f & SEEN && !(f & ACTIVE) && now >= t.seenAt[k] + rule.nodataMs) events = this.raise(k, rule, id, now, events);
    f = t.flags[k];
    if (f & SHELVED && now >= t.shelvedUntil[k]) {
      events ??= [];
      this.unshelve(k, rule, id, now, events);
      this.onChange(id);
    }
    this.deadlines.reschedule(k, rule);
    if (events) this.onTimerEvents(events);
  }

  /** Adds the event unless the alarm is shelved: a raise while shelved is kept back for the unshelve. */
  private emit(k: number, rule: CompiledRule, id: string, event: AlarmEventName, now: number, events: AlarmEvent[] | null): AlarmEvent[] | null {
    if (this.table.flags[k] & SHELVED && event !== 'shelved' && event !== 'unshelved') {
      if (event === 'raised') this.table.flags[k] |= SILENT;
      return events;
    }
    events ??= [];
    events.push(alarmEvent(this.table, k, rule, id, event, now));
    return events;
  }

  private setThreshold(k: number, cond: CompiledCondition, lo: number, hi: number): void {
    this.table.thrLo[k] = lo;
    this.table.thrHi[k] = cond.hi ? hi : NaN;
  }
}
