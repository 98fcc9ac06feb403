// When each device-rule is next due (raise or clear delay, escalation, no-data, end of shelving) and one
// TimerHeap for all of them. Entries made stale by a state change stay in the heap and are skipped when they
// come up: scheduledAt holds the one entry a key still waits for.
import * as flags from './alarm-flags';
import type { AlarmTable } from './alarm-table';
import type { CompiledRule } from './compile';
import { TimerHeap } from './timer-heap';

// Copied once: on the per-sample path, an import compiled to CommonJS (tsx, ts-node) is a getter call per use.
const { ACKED, ACTIVE, COND_CLEARED, ESCALATED, PEND_CLEAR, PEND_RAISE, SEEN, SHELVED } = flags;

export class AlarmDeadlines {
  private readonly timers: TimerHeap;

  constructor(
    private readonly table: AlarmTable,
    /** the key's deadline came: run its transitions */
    onDue: (k: number, now: number) => void,
    private readonly now: () => number,
  ) {
    this.timers = new TimerHeap((k, deadline, at) => {
      if (this.table.scheduledAt[k] !== deadline) return; // superseded by an earlier entry
      this.table.scheduledAt[k] = NaN;
      onDue(k, at);
    }, now);
  }

  /** Makes sure the key's timer comes up no later than `at`; an earlier pending entry already covers it. */
  schedule(k: number, at: number): void {
    if (!(at < Infinity)) return;
    const current = this.table.scheduledAt[k];
    if (current <= at) return;
    this.table.scheduledAt[k] = at;
    this.timers.push(at, k);
  }

  /** Makes sure the key's timer comes up by its next deadline, if it has one. */
  reschedule(k: number, rule: CompiledRule): void {
    this.schedule(k, this.nextDue(k, rule));
  }

  /** After the table moved devices to other slots: the old entries name the wrong keys. */
  rescheduleAll(rules: readonly CompiledRule[]): void {
    this.timers.clear();
    const n = this.table.ruleCount;
    for (let slot = 0; slot < this.table.ids.length; slot++) {
      for (let r = 0; r < rules.length; r++) this.reschedule(slot * n + r, rules[r]);
    }
  }

  close(): void {
    this.timers.close();
  }

  private nextDue(k: number, rule: CompiledRule): number {
    const t = this.table;
    const f = t.flags[k];
    let due = Infinity;
    // a raise delay needs its timer only once enough samples came in; later samples raise it themselves otherwise
    if (f & PEND_RAISE && rule.raiseMs > 0 && t.count[k] >= rule.raiseSamples) due = t.deadline[k];
    if (f & PEND_CLEAR) due = t.deadline[k];
    if (f & ACTIVE && !(f & ESCALATED) && rule.escalateMs > 0 && !(rule.escalateUnacked && f & ACKED)) {
      let at = t.raisedAt[k] + rule.escalateMs;
      // due outside the schedule: the escalation waits for the window to open
      if (rule.schedule) {
        const now = this.now();
        if (at <= now && !rule.schedule.isActive(now)) at = rule.schedule.nextChange(now);
      }
      due = Math.min(due, at);
    }
    if (f & ACTIVE && !(f & COND_CLEARED) && rule.autoClearMs > 0) due = Math.min(due, t.raisedAt[k] + rule.autoClearMs);
    if (f & ACTIVE && !(f & ACKED) && rule.reminderMs > 0 && t.remindAt[k] === t.remindAt[k]) due = Math.min(due, t.remindAt[k]);
    if (rule.nodataMs > 0 && f & SEEN && !(f & ACTIVE)) due = Math.min(due, t.seenAt[k] + rule.nodataMs);
    if (f & SHELVED) due = Math.min(due, t.shelvedUntil[k]);
    return due;
  }
}
