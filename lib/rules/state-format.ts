// The persisted shape of rule state, with named fields and a format version, and the readers that step older
// formats up. 1: the first release (a device record maps each rule name to an array whose first entry holds the
// engine's flag bits; meta `{ v: 1, clean }`). 2: a device record is `{ v: 2, alarms: [{ rule, active, … }] }`,
// so a stored state no longer depends on the engine's bit positions. 3: an alarm may hold its level and next
// reminder, and a device record its windows and last values (`{ v: 3, alarms, windows?, last? }`); a format 2
// record reads as a format 3 one without them.
import { M2MError } from '../errors';
import { emptyRecord, isPlainObject } from '../safe';
import type { PersistedWindow } from './windows';

export const RULE_STATE_VERSION = 3;

/** One rule's state for one device. Flags are present only when true, numbers only when set. */
export interface PersistedAlarm {
  rule: string;
  active?: true;
  acknowledged?: true;
  escalated?: true;
  /** the raise condition holds and waits for its delay or sample count */
  pendingRaise?: true;
  /** the clear condition holds and waits for its delay */
  pendingClear?: true;
  shelved?: true;
  /** latched and back to normal, waiting for acknowledgement */
  conditionCleared?: true;
  /** raised while shelved: announced when the shelving ends */
  raisedWhileShelved?: true;
  /** a no-data rule watches this device */
  watching?: true;
  samples?: number;
  deadline?: number;
  raisedAt?: number;
  value?: number;
  thresholdLo?: number;
  thresholdHi?: number;
  shelvedUntil?: number;
  lastSeen?: number;
  /** a level rule's level, 1 the least severe (format 3) */
  level?: number;
  /** when the next reminder is due (format 3) */
  nextReminder?: number;
}

export const ALARM_FLAGS = [
  'active',
  'acknowledged',
  'escalated',
  'pendingRaise',
  'pendingClear',
  'shelved',
  'conditionCleared',
  'raisedWhileShelved',
  'watching',
] as const;
export type AlarmFlag = (typeof ALARM_FLAGS)[number];
export const ALARM_NUMBERS = [
  'samples',
  'deadline',
  'raisedAt',
  'value',
  'thresholdLo',
  'thresholdHi',
  'shelvedUntil',
  'lastSeen',
  'level',
  'nextReminder',
] as const;
export type AlarmNumber = (typeof ALARM_NUMBERS)[number];

/** A device's windows and last known values (format 3): what expressions computed over its past samples. */
export interface PersistedSeries {
  windows?: PersistedWindow[];
  /** metric name to its last value, for rules that use it when a sample lacks the metric */
  last?: Record<string, number>;
}

export interface PersistedDevice extends PersistedSeries {
  v: typeof RULE_STATE_VERSION;
  alarms: PersistedAlarm[];
}

export interface PersistedMeta {
  v: typeof RULE_STATE_VERSION;
  /** the state was saved by a clean close, so last-seen times are exact */
  clean: boolean;
}

// Format 1 kept the engine's flag bits and this array order; frozen here so the engine may change its own.
const V1_FLAGS: ReadonlyArray<[number, AlarmFlag]> = [
  [1, 'active'],
  [2, 'acknowledged'],
  [4, 'escalated'],
  [8, 'pendingRaise'],
  [16, 'pendingClear'],
  [32, 'shelved'],
  [128, 'conditionCleared'],
  [1024, 'raisedWhileShelved'],
  [2048, 'watching'],
];
const V1_NUMBERS: readonly AlarmNumber[] = ['samples', 'deadline', 'raisedAt', 'value', 'thresholdLo', 'thresholdHi', 'shelvedUntil', 'lastSeen'];

export type ReadDevice = { alarms: PersistedAlarm[]; series: PersistedSeries; steppedUp: boolean } | { unreadable: string };

function versionOf(what: string, value: Record<string, unknown>, implied: number): number | string {
  const v = value.v === undefined ? implied : value.v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) return `format version ${JSON.stringify(v)} is not a version`;
  if (v > RULE_STATE_VERSION) {
    throw new M2MError(
      'STORE_TOO_NEW',
      `alarm state ${what} has format ${v}, written by a newer version of the pack; this one reads up to ${RULE_STATE_VERSION}. Upgrade the pack again; the state is left as it is`,
      { field: 'store' },
    );
  }
  return v;
}

/** Reads the meta record (absent: nothing was saved yet, or format 1 without one). Throws STORE_TOO_NEW. */
export function readMeta(raw: unknown): { clean: boolean } {
  if (!isPlainObject(raw)) return { clean: false };
  const v = versionOf('meta', raw, 1);
  return { clean: typeof v === 'number' && raw.clean === true };
}

/** Reads one device's record in any known format. Throws STORE_TOO_NEW for a newer one. */
export function readDevice(key: string, raw: unknown): ReadDevice {
  if (!isPlainObject(raw)) return { unreadable: 'not an object' };
  // format 1 had no `v` and its values were arrays; a rule named "v" held an array, never a number
  const v = versionOf(key, raw, 1);
  if (typeof v === 'string') return Array.isArray(raw.v) ? readV1(raw) : { unreadable: v };
  if (v === 1) return readV1(raw);
  if (!Array.isArray(raw.alarms)) return { unreadable: 'alarms is not a list' };
  const alarms: PersistedAlarm[] = [];
  for (const entry of raw.alarms) {
    const alarm = readAlarm(entry);
    if (!alarm) return { unreadable: 'an alarm entry has fields missing or of the wrong type' };
    alarms.push(alarm);
  }
  // format 2 is format 3 without levels, reminders, windows and last values: saved again as 3
  return { alarms, series: v >= 3 ? readSeries(raw) : {}, steppedUp: v < RULE_STATE_VERSION };
}

function readSeries(raw: Record<string, unknown>): PersistedSeries {
  const series: PersistedSeries = {};
  if (Array.isArray(raw.windows)) {
    series.windows = raw.windows.filter(
      (w): w is PersistedWindow =>
        isPlainObject(w) && typeof w.key === 'string' && Array.isArray(w.data) && w.data.every((n) => n === null || typeof n === 'number'),
    );
  }
  if (isPlainObject(raw.last)) {
    const last = emptyRecord<number>();
    for (const [name, n] of Object.entries(raw.last)) if (typeof n === 'number' && Number.isFinite(n)) last[name] = n;
    series.last = last;
  }
  return series;
}

function readAlarm(entry: unknown): PersistedAlarm | undefined {
  if (!isPlainObject(entry) || typeof entry.rule !== 'string') return undefined;
  const alarm: PersistedAlarm = { rule: entry.rule };
  for (const flag of ALARM_FLAGS) if (entry[flag] === true) alarm[flag] = true;
  for (const name of ALARM_NUMBERS) {
    const n = entry[name];
    if (typeof n === 'number' && Number.isFinite(n)) alarm[name] = n;
  }
  return alarm;
}

function readV1(raw: Record<string, unknown>): ReadDevice {
  const alarms: PersistedAlarm[] = [];
  for (const [rule, values] of Object.entries(raw)) {
    if (!Array.isArray(values) || values.length < 9 || typeof values[0] !== 'number')
      return { unreadable: `rule ${JSON.stringify(rule)} is not a format 1 entry` };
    const alarm: PersistedAlarm = { rule };
    for (const [bit, flag] of V1_FLAGS) if (values[0] & bit) alarm[flag] = true;
    V1_NUMBERS.forEach((name, i) => {
      const n: unknown = values[i + 1];
      if (typeof n === 'number' && Number.isFinite(n)) alarm[name] = n;
    });
    alarms.push(alarm);
  }
  return { alarms, series: {}, steppedUp: true };
}

export function deviceRecord(alarms: PersistedAlarm[], series: PersistedSeries = {}): PersistedDevice {
  const record: PersistedDevice = { v: RULE_STATE_VERSION, alarms };
  if (series.windows?.length) record.windows = series.windows;
  if (series.last && Object.keys(series.last).length) record.last = series.last;
  return record;
}

export function metaRecord(clean: boolean): PersistedMeta {
  return { v: RULE_STATE_VERSION, clean };
}
