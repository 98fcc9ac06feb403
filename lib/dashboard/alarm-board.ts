// The operator's alarm list behind ui-m2m-alarms: the active alarms of the m2m-rule nodes wired into the widget,
// kept from their alarm events (and from a rule's `list` reply, so a widget deployed after the alarms were raised
// still shows them).
import { M2MError } from '../errors';
import { SEVERITIES, type Severity } from '../rules/types';
import { Board } from './board';

export type AlarmRowState = 'unacknowledged' | 'acknowledged' | 'shelved';

/** One row of the alarm list as the browser gets it. */
export interface AlarmRow {
  /** `<deviceId>/<rule>`: a device id has no `/`, so the key is unambiguous. */
  key: string;
  deviceId: string;
  rule: string;
  metric: string;
  severity: Severity;
  state: AlarmRowState;
  /** The condition has cleared but the alarm waits for its acknowledgement (ISA-18.2 "return to normal, unacknowledged"). */
  cleared: boolean;
  value: number | string | boolean | null;
  threshold: number | [number, number] | null;
  text: string;
  raisedAt: number | null;
  /** When the last transition happened. */
  ts: number;
  /** Who did the last acknowledgement or shelving, when the event said. */
  by: string | null;
}

const EVENTS = new Set(['raised', 'cleared', 'acknowledged', 'escalated', 'shelved', 'unshelved']);

type Fields = Record<string, unknown>;

function text(fields: Fields, name: string, required: boolean): string {
  const value = fields[name];
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) {
    if (!required) return '';
  }
  throw new M2MError('INVALID_PAYLOAD', `an alarm event needs msg.payload.${name} as text`, { field: `payload.${name}` });
}

function scalar(value: unknown): number | string | boolean | null {
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' ? value : null;
}

function threshold(value: unknown): number | [number, number] | null {
  if (typeof value === 'number') return value;
  if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number') return [value[0], value[1]];
  return null;
}

function timeOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export class AlarmBoard {
  readonly rows: Board<AlarmRow>;

  constructor(capacity = 10000) {
    this.rows = new Board<AlarmRow>(capacity);
  }

  /**
   * Takes an alarm event's payload (out of m2m-rule's output 1) or a `list` reply's array of alarm states.
   * Returns the rows that became new unacknowledged alarms (for the widget's cue). INVALID_PAYLOAD for anything else.
   */
  apply(payload: unknown, now = Date.now()): AlarmRow[] {
    if (Array.isArray(payload)) return payload.flatMap((state) => this.applyOne(state, now, true));
    return this.applyOne(payload, now, false);
  }

  private applyOne(payload: unknown, now: number, listed: boolean): AlarmRow[] {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new M2MError('INVALID_PAYLOAD', 'ui-m2m-alarms takes the alarm events of m2m-rule: msg.payload must be an alarm event object', {
        field: 'payload',
      });
    }
    const fields = payload as Fields;
    const deviceId = text(fields, 'deviceId', true);
    const rule = text(fields, 'rule', true);
    const event = listed ? undefined : text(fields, 'event', true);
    if (event !== undefined && !EVENTS.has(event)) {
      throw new M2MError('INVALID_PAYLOAD', `msg.payload.event must be one of ${[...EVENTS].join(', ')}`, { field: 'payload.event' });
    }
    const severity = fields.severity as Severity;
    if (!SEVERITIES.includes(severity)) {
      throw new M2MError('INVALID_PAYLOAD', `msg.payload.severity must be one of ${SEVERITIES.join(', ')}`, { field: 'payload.severity' });
    }
    const key = `${deviceId}/${rule}`;
    const before = this.rows.get(key);
    if (fields.active === false) {
      this.rows.delete(key);
      return [];
    }
    const acknowledged = fields.acknowledged === true;
    const shelved =
      typeof fields.shelved === 'boolean' ? fields.shelved : event === 'shelved' ? true : event === 'unshelved' ? false : before?.state === 'shelved';
    const row: AlarmRow = {
      key,
      deviceId,
      rule,
      metric: typeof fields.metric === 'string' ? fields.metric : '',
      severity,
      state: shelved ? 'shelved' : acknowledged ? 'acknowledged' : 'unacknowledged',
      cleared: event === 'cleared' || fields.conditionCleared === true || (event !== 'raised' && before?.cleared === true),
      value: scalar(fields.value),
      threshold: threshold(fields.threshold),
      text: typeof fields.text === 'string' ? fields.text : (before?.text ?? ''),
      raisedAt: timeOf(fields.raisedAt),
      ts: timeOf(fields.ts) ?? before?.ts ?? now,
      by: typeof fields.by === 'string' ? fields.by : (before?.by ?? null),
    };
    if (!this.rows.put(row)) return [];
    const fresh = row.state === 'unacknowledged' && (before === undefined || before.state !== 'unacknowledged' || event === 'raised');
    return fresh ? [row] : [];
  }
}

/** The control message m2m-rule takes, for a button pressed in the widget. */
export interface AlarmControlMessage {
  topic: 'ack' | 'shelve' | 'unshelve' | 'reset';
  deviceId: string;
  rule?: string;
  /** Seconds, for shelve. */
  duration?: number;
  by: string;
}

const OPS = new Set(['ack', 'shelve', 'unshelve', 'reset']);

/**
 * A button press from the browser as the control message for the rule node, or INVALID_PAYLOAD. No rule: every
 * alarm of the device (ack-all).
 */
export function alarmControl(request: Fields, shelveSeconds: number, by: string): AlarmControlMessage {
  const op = request.op;
  if (typeof op !== 'string' || !OPS.has(op)) throw new M2MError('INVALID_PAYLOAD', 'the widget asked for an unknown alarm operation', { field: 'op' });
  const deviceId = text(request, 'deviceId', true);
  const out: AlarmControlMessage = { topic: op as AlarmControlMessage['topic'], deviceId, by };
  if (request.rule !== undefined) out.rule = text(request, 'rule', true);
  if (op === 'shelve') {
    const seconds = request.duration === undefined ? shelveSeconds : request.duration;
    if (typeof seconds !== 'number' || !(seconds > 0))
      throw new M2MError('INVALID_PAYLOAD', 'shelve needs a duration in seconds above 0', { field: 'duration' });
    out.duration = seconds;
  }
  return out;
}
