// A rule's active schedule: weekdays and a daily time span, or a cron expression (the rule is active in every minute
// it matches), both read in an IANA time zone through Intl, so a DST change moves the span with the wall clock.
// Outside its schedule a rule neither raises nor reminds (see alarm-transitions.ts for an alarm active at the end).

export interface ScheduleDefinition {
  /** weekly: `days` (0 Sunday … 6 Saturday) between `from` and `to` (HH:MM, local; `to` before `from` spans midnight) */
  type: 'weekly' | 'cron';
  days?: number[];
  from?: string;
  to?: string;
  /** five fields: minute hour day-of-month month day-of-week */
  cron?: string;
  /** IANA time zone, e.g. Europe/Berlin; empty: UTC */
  tz?: string;
}

export class ScheduleError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(problem);
  }
}

interface Local {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

type MinuteTest = (t: Local) => boolean;

const MINUTE = 60_000;
/** How far ahead the next change is looked for; a schedule that never changes within it is treated as constant. */
const LOOKAHEAD_MINUTES = 8 * 24 * 60;
// an offset is looked up once per quarter hour of UTC, the finest step at which zones change theirs
const OFFSET_STEP = 15 * MINUTE;

export class ActiveSchedule {
  private readonly test: MinuteTest;
  private readonly format: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();
  private spanFrom = NaN;
  private spanUntil = NaN;
  private spanActive = true;

  constructor(readonly def: ScheduleDefinition) {
    const tz = def.tz || 'UTC';
    try {
      this.format = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      });
    } catch {
      throw new ScheduleError('schedule.tz', `is not a time zone this Node.js knows: ${JSON.stringify(def.tz)}`);
    }
    if (def.type === 'cron') this.test = cronTest(def.cron);
    else if (def.type === 'weekly') this.test = weeklyTest(def);
    else throw new ScheduleError('schedule.type', `must be weekly or cron, got ${JSON.stringify(def.type)}`);
  }

  isActive(now: number): boolean {
    if (!(now >= this.spanFrom && now < this.spanUntil)) this.span(now);
    return this.spanActive;
  }

  /** When the schedule next turns on or off after `now` (Infinity when it does not within 8 days). */
  nextChange(now: number): number {
    if (!(now >= this.spanFrom && now < this.spanUntil)) this.span(now);
    return this.spanUntil;
  }

  private span(now: number): void {
    let t = Math.floor(now / MINUTE) * MINUTE;
    const active = this.test(this.local(t));
    this.spanFrom = t;
    this.spanActive = active;
    for (let i = 0; i < LOOKAHEAD_MINUTES; i++) {
      t += MINUTE;
      if (this.test(this.local(t)) !== active) {
        this.spanUntil = t;
        return;
      }
    }
    this.spanUntil = Infinity;
  }

  private local(ts: number): Local {
    const step = Math.floor(ts / OFFSET_STEP);
    let offset = this.offsets.get(step);
    if (offset === undefined) {
      if (this.offsets.size > 2000) this.offsets.clear();
      offset = this.offsetAt(step * OFFSET_STEP);
      this.offsets.set(step, offset);
    }
    const d = new Date(ts + offset);
    return { minute: d.getUTCMinutes(), hour: d.getUTCHours(), day: d.getUTCDate(), month: d.getUTCMonth() + 1, weekday: d.getUTCDay() };
  }

  private offsetAt(ts: number): number {
    const parts: Record<string, number> = {};
    for (const p of this.format.formatToParts(new Date(ts))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute);
    return asUtc - Math.floor(ts / MINUTE) * MINUTE;
  }
}

function hhmm(field: string, raw: unknown): number {
  const m = typeof raw === 'string' ? /^([01]?\d|2[0-4]):([0-5]\d)$/.exec(raw.trim()) : null;
  const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  if (!(minutes <= 1440)) throw new ScheduleError(field, `must be a time HH:MM, got ${JSON.stringify(raw)}`);
  return minutes;
}

function weeklyTest(def: ScheduleDefinition): MinuteTest {
  const days = def.days ?? [1, 2, 3, 4, 5];
  if (!Array.isArray(days) || days.length === 0 || days.some((d) => !Number.isInteger(d) || d < 0 || d > 6)) {
    throw new ScheduleError('schedule.days', 'must list weekdays 0 (Sunday) to 6 (Saturday)');
  }
  const from = hhmm('schedule.from', def.from ?? '00:00');
  const to = hhmm('schedule.to', def.to ?? '24:00');
  if (from === to) throw new ScheduleError('schedule.to', 'must differ from schedule.from');
  const on = new Set(days);
  if (from < to) return (t) => on.has(t.weekday) && t.hour * 60 + t.minute >= from && t.hour * 60 + t.minute < to;
  // over midnight: the span belongs to the day it starts on
  return (t) => {
    const m = t.hour * 60 + t.minute;
    return m >= from ? on.has(t.weekday) : m < to && on.has((t.weekday + 6) % 7);
  };
}

const CRON_FIELDS: ReadonlyArray<[string, number, number, Record<string, number>?]> = [
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day of month', 1, 31],
  ['month', 1, 12, { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 }],
  ['day of week', 0, 7, { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 }],
];

function cronField(text: string, [name, lo, hi, names]: (typeof CRON_FIELDS)[number]): boolean[] {
  const on = new Array<boolean>(hi + 1).fill(false);
  const value = (s: string): number => {
    const n = names && s.toLowerCase() in names ? names[s.toLowerCase()] : /^\d+$/.test(s) ? Number(s) : NaN;
    if (!(n >= lo && n <= hi)) throw new ScheduleError('schedule.cron', `${name} "${s}" must be ${lo} to ${hi}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new ScheduleError('schedule.cron', `${name} step "${stepText}" must be a whole number of 1 or more`);
    let a = lo;
    let b = hi;
    if (range !== '*') {
      const [x, y] = range.split('-');
      a = value(x);
      b = y === undefined ? (stepText === undefined ? a : hi) : value(y);
      if (b < a) throw new ScheduleError('schedule.cron', `${name} range "${range}" runs backwards`);
    }
    for (let i = a; i <= b; i += step) on[i] = true;
  }
  return on;
}

function cronTest(cron: unknown): MinuteTest {
  const fields = typeof cron === 'string' ? cron.trim().split(/\s+/) : [];
  if (fields.length !== 5)
    throw new ScheduleError('schedule.cron', `must have five fields (minute hour day-of-month month day-of-week), got ${JSON.stringify(cron)}`);
  const [minute, hour, dom, month, dow] = fields.map((f, i) => cronField(f, CRON_FIELDS[i]));
  if (dow[7]) dow[0] = true;
  const anyDom = fields[2] === '*';
  const anyDow = fields[4] === '*';
  return (t) => {
    if (!minute[t.minute] || !hour[t.hour] || !month[t.month]) return false;
    // as in cron: when both day fields are restricted, either one matching is enough
    if (anyDom || anyDow) return dom[t.day] && dow[t.weekday];
    return dom[t.day] || dow[t.weekday];
  };
}
