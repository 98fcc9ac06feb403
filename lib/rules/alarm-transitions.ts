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
  /** expression rules: the conditions as evaluated */
  readonly raiseCond: Uint8Array;
  readonly clearCond: Uint8Array;
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
  apply(
    k: number,
    rule: CompiledRule,
    id: string,
    x: number,
    ts: number,
    now: number,
    thr: SampleThresholds,
    events: AlarmEvent[] | null,
  ): AlarmEvent[] | null {
    const t = this.table;
    let f = t.flags[k];
    const r = rule.index;
    let raiseCond: boolean;
    let clearCond: boolean;
    // a level rule: the level the value reaches, and the highest one it still holds with the hysteresis
    let reach = 0;
    let hold = 0;
    const levels = rule.levels;
    if (levels) {
      const h = rule.hysteresis;
      const held = f & ACTIVE ? t.level[k] : 0;
      for (let i = 0; i < levels.length; i++) {
        const v = levels[i].value;
        if (rule.levelsUp ? x > v : x < v) reach = i + 1;
        if (i < held && (rule.levelsUp ? x > v - h : x < v + h)) hold = i + 1;
      }
      raiseCond = reach > 0;
      clearCond = reach === 0 && hold === 0;
    } else if (rule.kind === 'expression') {
      raiseCond = thr.raiseCond[r] === 1;
      clearCond = thr.clearCond[r] === 1;
    } else if (rule.nodataMs > 0) {
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
    // outside its schedule a rule raises nothing; an active alarm still follows its value and may clear
    const open = rule.schedule === null || rule.schedule.isActive(now);
    if (rule.autoClearMs > 0) clearCond = false;

    if (!(f & ACTIVE)) {
      if (raiseCond && open) {
        if (levels) {
          t.level[k] = reach;
          t.thrLo[k] = levels[reach - 1].value;
        }
        if (!(f & PEND_RAISE)) {
          f |= PEND_RAISE;
          t.flags[k] = f;
          t.count[k] = 0;
          t.deadline[k] = now + rule.raiseMs;
          if (!levels) this.setThreshold(k, rule.raise, thr.lo[r], thr.hi[r]);
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
        if (levels && reach !== t.level[k]) events = this.moveLevel(k, rule, id, reach, now, events);
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
        if (levels) t.thrLo[k] = levels[0].value - (rule.levelsUp ? rule.hysteresis : -rule.hysteresis);
        else this.setThreshold(k, clear, thr.clo[r], thr.chi[r]);
        if (rule.nodataMs > 0) this.setThreshold(k, clear, rule.nodataMs / 1000, NaN);
      }
      if (now >= t.deadline[k]) events = this.clearAlarm(k, rule, id, now, events);
      else {
        this.onChange(id);
        this.deadlines.reschedule(k, rule);
      }
    } else {
      if (f & PEND_CLEAR) {
        t.flags[k] = f & ~PEND_CLEAR;
        this.onChange(id);
      }
      if (levels) {
        const next = Math.max(reach, hold);
        if (next !== t.level[k]) events = this.moveLevel(k, rule, id, next, now, events);
      }
    }
    return events;
  }

  /** A level rule's alarm moves to another level: escalated when more severe, deescalated when less. */
  private moveLevel(k: number, rule: CompiledRule, id: string, level: number, now: number, events: AlarmEvent[] | null): AlarmEvent[] | null {
    const t = this.table;
    const from = t.level[k];
    t.level[k] = level;
    t.thrLo[k] = (rule.levels as NonNullable<CompiledRule['levels']>)[level - 1].value;
    this.onChange(id);
    return this.emit(k, rule, id, level > from ? 'escalated' : 'deescalated', now, events);
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
    t.remindAt[k] = NaN;
    t.level[k] = 0;
  }

  private raise(k: number, rule: CompiledRule, id: string, now: number, events: AlarmEvent[] | null): AlarmEvent[] | null {
    const t = this.table;
    const keep = t.flags[k] & (SHELVED | HAS_PREV | SCOPE_KNOWN | IN_SCOPE | SEEN);
    t.flags[k] = keep | ACTIVE;
    t.count[k] = 0;
    t.raisedAt[k] = now;
    t.remindAt[k] = rule.reminderMs > 0 ? now + rule.reminderMs : NaN;
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
    t.remindAt[k] = NaN;
    t.level[k] = 0;
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
    const open = rule.schedule === null || rule.schedule.isActive(now);
    let f = t.flags[k];
    if (f & PEND_RAISE && now >= t.deadline[k] && t.count[k] >= rule.raiseSamples) {
      if (open) events = this.raise(k, rule, id, now, events);
      else {
        // the window closed while the raise waited for its delay: it is dropped
        t.flags[k] = f & ~PEND_RAISE;
        t.count[k] = 0;
        this.onChange(id);
      }
    }
    f = t.flags[k];
    if (f & PEND_CLEAR && now >= t.deadline[k]) events = this.clearAlarm(k, rule, id, now, events);
    f = t.flags[k];
    if (f & ACTIVE && !(f & COND_CLEARED) && rule.autoClearMs > 0 && now >= t.raisedAt[k] + rule.autoClearMs)
      events = this.clearAlarm(k, rule, id, now, events);
    f = t.flags[k];
    if (open && this.escalationWaits(f, rule) && now >= t.raisedAt[k] + rule.escalateMs) {
      t.flags[k] = f | ESCALATED;
      events = this.emit(k, rule, id, 'escalated', now, events);
      this.onChange(id);
    }
    f = t.flags[k];
    if (f & ACTIVE && !(f & ACKED) && rule.reminderMs > 0 && now >= t.remindAt[k]) {
      // outside the schedule reminders pause; the first comes again when the window opens
      if (open) events = this.emit(k, rule, id, 'reminder', now, events);
      t.remindAt[k] = open ? now + rule.reminderMs : (rule.schedule as NonNullable<CompiledRule['schedule']>).nextChange(now);
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

  /** Whether a time escalation is still to come: active (and unacknowledged, when that is what it waits for). */
  escalationWaits(f: number, rule: CompiledRule): boolean {
    return (f & ACTIVE) !== 0 && !(f & ESCALATED) && rule.escalateMs > 0 && !(rule.escalateUnacked && f & ACKED);
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
