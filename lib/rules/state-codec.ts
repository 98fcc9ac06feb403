// Between one device-rule of the alarm table and its persisted shape (state-format.ts): flags by name, numbers
// only when set, so that a stored state does not depend on the table's layout.
import { ACTIVE, FLAG_NAMES, PERSISTED, SEEN } from './alarm-flags';
import type { AlarmTable } from './alarm-table';
import type { CompiledRule } from './compile';
import type { AlarmNumber, PersistedAlarm } from './state-format';

/** The device-rule's state to persist, or undefined when it holds nothing worth keeping. */
export function encodeAlarm(table: AlarmTable, k: number, rule: CompiledRule): PersistedAlarm | undefined {
  const f = table.flags[k] & PERSISTED;
  if (f === 0) return undefined;
  const alarm: PersistedAlarm = { rule: rule.name };
  for (const [bit, name] of FLAG_NAMES) if (f & bit) alarm[name] = true;
  const numbers: Array<[AlarmNumber, number]> = [
    ['samples', table.count[k]],
    ['deadline', table.deadline[k]],
    ['raisedAt', table.raisedAt[k]],
    ['value', table.value[k]],
    ['thresholdLo', table.thrLo[k]],
    ['thresholdHi', table.thrHi[k]],
    ['shelvedUntil', table.shelvedUntil[k]],
    ['lastSeen', table.seenAt[k]],
    ['level', table.level[k] || NaN],
    ['nextReminder', table.remindAt[k]],
  ];
  for (const [name, n] of numbers) if (!Number.isNaN(n)) alarm[name] = n;
  return alarm;
}

/** Writes a persisted state into the device-rule (re-arming its timer is the caller's business). */
export function decodeAlarm(table: AlarmTable, k: number, rule: CompiledRule, alarm: PersistedAlarm, lastSeen: number | undefined): void {
  let f = 0;
  for (const [bit, name] of FLAG_NAMES) if (alarm[name] === true) f |= bit;
  if (rule.nodataMs === 0) f &= ~SEEN;
  table.flags[k] = f;
  table.count[k] = Math.min(65535, Math.max(0, alarm.samples ?? 0));
  table.deadline[k] = alarm.deadline ?? NaN;
  table.raisedAt[k] = alarm.raisedAt ?? NaN;
  table.value[k] = alarm.value ?? NaN;
  table.thrLo[k] = alarm.thresholdLo ?? NaN;
  table.thrHi[k] = alarm.thresholdHi ?? NaN;
  table.shelvedUntil[k] = alarm.shelvedUntil ?? NaN;
  table.seenAt[k] = lastSeen ?? NaN;
  const levels = rule.levels;
  // a level beyond the rule's levels (edited since) is its most severe
  table.level[k] = levels && alarm.level !== undefined ? Math.min(levels.length, Math.max(1, Math.round(alarm.level))) : levels && f & ACTIVE ? 1 : 0;
  if (levels && f & ACTIVE) table.thrLo[k] = levels[table.level[k] - 1].value;
  table.remindAt[k] = alarm.nextReminder ?? NaN;
}
