// What one device-rule of the alarm table looks like to a user: its state (for lists and the sidebar) and the
// event a transition sends.
import { ACKED, ACTIVE, COND_CLEARED, ESCALATED, SHELVED } from './alarm-flags';
import type { AlarmTable } from './alarm-table';
import type { CompiledRule } from './compile';
import { type AlarmEvent, type AlarmEventName, type AlarmListing, type AlarmState, SEVERITIES, type Severity } from './types';

/** A level rule's level's severity, raised to escalateTo by a time escalation when that is more severe. */
function severityOf(table: AlarmTable, k: number, rule: CompiledRule): Severity {
  const levels = rule.levels;
  const own = levels ? levels[Math.max(0, table.level[k] - 1)].severity : rule.severity;
  if (!(table.flags[k] & ESCALATED)) return own;
  return SEVERITIES.indexOf(rule.escalateTo) > SEVERITIES.indexOf(own) ? rule.escalateTo : own;
}

export function alarmState(table: AlarmTable, k: number, rule: CompiledRule, id: string): AlarmState {
  const f = table.flags[k];
  const raisedAt = nullIfNaN(table.raisedAt[k]);
  const lo = nullIfNaN(table.thrLo[k]);
  const hi = nullIfNaN(table.thrHi[k]);
  return {
    alarmId: raisedAt === null ? null : `${id}:${rule.name}:${raisedAt}`,
    deviceId: id,
    rule: rule.name,
    metric: rule.metric,
    severity: severityOf(table, k, rule),
    active: (f & ACTIVE) !== 0,
    acknowledged: (f & ACKED) !== 0,
    conditionCleared: (f & COND_CLEARED) !== 0,
    shelved: (f & SHELVED) !== 0,
    shelvedUntil: f & SHELVED ? nullIfNaN(table.shelvedUntil[k]) : null,
    value: nullIfNaN(table.value[k]),
    threshold: lo === null ? null : hi === null ? lo : [lo, hi],
    raisedAt,
  };
}

export function alarmEvent(table: AlarmTable, k: number, rule: CompiledRule, id: string, event: AlarmEventName, now: number): AlarmEvent {
  return eventOf(alarmState(table, k, rule, id), rule, id, event, now);
}

function eventOf(state: AlarmState, rule: CompiledRule, id: string, event: AlarmEventName, now: number): AlarmEvent {
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
  return payload;
}

/** The alarm with the text its rule gives a raise, so a list read after a deploy shows what the events showed. */
export function alarmListing(table: AlarmTable, k: number, rule: CompiledRule, id: string, now: number): AlarmListing {
  const state = alarmState(table, k, rule, id);
  return { ...state, text: eventOf(state, rule, id, 'raised', state.raisedAt ?? now).text };
}

function nullIfNaN(n: number): number | null {
  return Number.isNaN(n) ? null : n;
}
