// The rule definitions as the node's editor saves them (durations in seconds), and the alarm event contract.
import type { ScheduleDefinition } from './schedule';

export type Severity = 'critical' | 'major' | 'minor' | 'warning';
export const SEVERITIES: readonly Severity[] = ['warning', 'minor', 'major', 'critical'];

export type CompareOp = '>' | '>=' | '<' | '<=' | '==' | '!=' | 'between' | 'outside' | 'rate';
export type RaiseOp = CompareOp | 'nodata';

/** Where a threshold comes from: a literal number, a device attribute in the registry, or a msg property. */
export type ThresholdType = 'num' | 'attr' | 'msg' | 'jsonata';

export interface ConditionDefinition {
  /** A threshold rule's comparison; unused by expression rules. */
  op?: RaiseOp | 'auto';
  /** The threshold (low bound for between/outside, limit for rate, seconds of silence for nodata). */
  value?: number | string;
  valueType?: ThresholdType;
  /** The high bound for between/outside. */
  value2?: number | string;
  value2Type?: ThresholdType;
  /** Rate of change per second or per minute. */
  per?: 's' | 'min';
  /** Which way the rate must move: up, down, or either (absolute). */
  direction?: 'rise' | 'fall' | 'either';
  /** An expression rule's condition (lib/rules/expr), e.g. `avg(temperature, 5m) > 30 and vibration > 3`. */
  expr?: string;
}

/** One severity of a level rule: the alarm is at this level while the value is above (or below) `value`. */
export interface LevelDefinition {
  severity: Severity;
  value: number | string;
}

export interface RuleDefinition {
  name: string;
  /** threshold (default): `metric` against `raise`/`clear` ops; expression: `raise.expr` and `clear.expr`. */
  condition?: 'threshold' | 'expression';
  /** A threshold rule's metric; an expression rule may leave it empty (the first metric it names is reported). */
  metric: string;
  severity: Severity;
  raise: ConditionDefinition;
  /**
   * Severity that follows the value: one alarm at the highest level passed (by the metric, or by `raise.expr` giving
   * a number), moving up and down with escalated/deescalated events, cleared below the lowest. raise/clear ops unused.
   */
  levels?: LevelDefinition[];
  /** above (default): higher is worse; below: lower is worse. */
  levelDirection?: 'above' | 'below';
  /** A level is left only once the value is this far back past it (a deadband between levels, and before clearing). */
  hysteresis?: number;
  /** An expression metric absent from a sample: wait for a sample that has it (default) or use its last value. */
  missing?: 'wait' | 'last';
  /** A `reminder` event every this many seconds while the alarm is active and unacknowledged. */
  reminderEvery?: number;
  /** active (default): escalate once active for escalateAfter; unacknowledged: once unacknowledged that long. */
  escalateWhen?: 'active' | 'unacknowledged';
  /** For events with no clear condition (a door forced): the alarm clears this many seconds after it was raised. */
  autoClearAfter?: number;
  /** When the rule is in force; outside it, it neither raises nor reminds. Omitted: always. */
  schedule?: ScheduleDefinition;
  /** Omitted or op "auto": the alarm clears when the raise condition no longer holds. */
  clear?: ConditionDefinition;
  /** Raise only after the condition held this many seconds ... */
  raiseDelay?: number;
  /** ... and for this many consecutive samples. */
  raiseSamples?: number;
  /** Clear only after the clear condition held this many seconds. */
  clearDelay?: number;
  /** An alarm still active after this many seconds moves to `escalateTo`, once. */
  escalateAfter?: number;
  escalateTo?: Severity;
  /** A cleared alarm stays active until acknowledged. */
  latch?: boolean;
  scope?: 'all' | 'type' | 'tag';
  scopeValue?: string;
  /** `{{deviceId}} {{rule}} {{metric}} {{value}} {{threshold}} {{severity}} {{event}}` */
  text?: string;
}

export type AlarmEventName = 'raised' | 'cleared' | 'acknowledged' | 'escalated' | 'deescalated' | 'reminder' | 'shelved' | 'unshelved';

/** msg.payload of an alarm event (design.md, "Alarm event"). */
export interface AlarmEvent {
  alarmId: string | null;
  deviceId: string;
  rule: string;
  metric: string;
  severity: Severity;
  event: AlarmEventName;
  active: boolean;
  acknowledged: boolean;
  value: number | null;
  threshold: number | [number, number] | null;
  raisedAt: number | null;
  ts: number;
  text: string;
}

/** One entry of `list` and of msg.alarms on the pass-through output. */
export interface AlarmState {
  alarmId: string | null;
  deviceId: string;
  rule: string;
  metric: string;
  severity: Severity;
  active: boolean;
  acknowledged: boolean;
  /** The condition is back to normal; a latched alarm waits for acknowledgement. */
  conditionCleared: boolean;
  shelved: boolean;
  shelvedUntil: number | null;
  value: number | null;
  threshold: number | [number, number] | null;
  raisedAt: number | null;
}

/** An active alarm as a list shows it (the sidebar, the admin API, the dashboard): its state and its raise's text. */
export interface AlarmListing extends AlarmState {
  text: string;
}

/** What the engine needs to know about a device: its type, tags and attributes (from the registry). */
export interface DeviceFacts {
  type: string;
  tags: readonly string[];
  attributes: Record<string, unknown>;
}
export type DeviceLookup = (deviceId: string) => DeviceFacts | undefined;
