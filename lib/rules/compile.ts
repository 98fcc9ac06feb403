// Turns rule definitions (as saved by the editor) into precompiled rules: a predicate per condition chosen once,
// threshold resolvers, durations in ms. Every problem is reported with the rule's name and the offending field.
import type { JsonataField } from '../config/jsonata-field';
import { M2MError } from '../errors';
import { isHostileKey } from '../safe';
import { compileTemplate, type Template } from './template';
import { type CompiledExpression, compileExpression, ExprError } from './expr';
import { RuleScope } from './rule-scope';
import { ActiveSchedule, type ScheduleDefinition, ScheduleError } from './schedule';
import {
  type AlarmEventName,
  type LevelDefinition,
  type CompareOp,
  type ConditionDefinition,
  type DeviceLookup,
  type RaiseOp,
  type RuleDefinition,
  SEVERITIES,
  type Severity,
  type ThresholdType,
} from './types';

/** The fields of an alarm event a text template may use. */
export const TEXT_FIELDS = [
  'event',
  'severity',
  'deviceId',
  'rule',
  'metric',
  'value',
  'threshold',
  'active',
  'acknowledged',
  'alarmId',
  'raisedAt',
  'ts',
] as const;
const EVENTS: readonly AlarmEventName[] = ['raised', 'cleared', 'acknowledged', 'escalated', 'deescalated', 'reminder', 'shelved', 'unshelved'];
const WORDS: Record<CompareOp, string> = {
  '>': 'above',
  '>=': 'at or above',
  '<': 'below',
  '<=': 'at or below',
  '==': 'at',
  '!=': 'not at',
  between: 'within',
  outside: 'outside',
  rate: 'changing faster than',
};
// A timer deadline further away than this is almost certainly a unit mistake (ms typed as seconds).
const MAX_SECONDS = 366 * 24 * 3600;
// No MQTT level separator or wildcard (the name is a level of the alarm topic), no control characters.
const RULE_NAME = /^[^/+#\p{Cc}]{1,64}$/u;

export type Predicate = (x: number, lo: number, hi: number) => boolean;

const PREDICATES: Record<CompareOp, Predicate> = {
  '>': (x, lo) => x > lo,
  '>=': (x, lo) => x >= lo,
  '<': (x, lo) => x < lo,
  '<=': (x, lo) => x <= lo,
  '==': (x, lo) => x === lo,
  '!=': (x, lo) => x !== lo,
  between: (x, lo, hi) => x >= lo && x <= hi,
  outside: (x, lo, hi) => x < lo || x > hi,
  // The rate is compared with its limit; the value passed in is already the (directed) rate.
  rate: (x, lo) => x > lo,
};

export interface ThresholdSource {
  kind: ThresholdType;
  num: number;
  /** attribute name or msg property path */
  path: readonly string[];
  describe: string;
  /** jsonata: the rule and property it was written in, for the deploy's and the message's errors. */
  field?: string;
}

export interface CompiledCondition {
  op: RaiseOp;
  test: Predicate;
  lo: ThresholdSource | null;
  hi: ThresholdSource | null;
  /** rate: multiply (units per ms) by this to get units per second or minute */
  rateFactor: number;
  /** rate: 1 rising, -1 falling, 0 either way (absolute) */
  direction: -1 | 0 | 1;
}

/** An expression rule's compiled raise or clear condition, with its metrics by index in the node's scope. */
export interface RuleExpression extends CompiledExpression {
  /** metric indexes named outside windows: the sample must carry them (or their last values must be known) */
  needs: number[];
  /** metric indexes named anywhere: a sample with none of them leaves the rule alone */
  touches: number[];
  attrIndexes: number[];
}

export interface CompiledLevel {
  severity: Severity;
  value: number;
}

export interface CompiledRule {
  index: number;
  name: string;
  metric: string;
  severity: Severity;
  kind: 'threshold' | 'expression';
  /** expression rules: the raise condition (a number for a level rule) and the optional clear condition */
  raiseExpr: RuleExpression | null;
  clearExpr: RuleExpression | null;
  /** level rules: from the least to the most severe */
  levels: CompiledLevel[] | null;
  levelsUp: boolean;
  hysteresis: number;
  lastKnown: boolean;
  reminderMs: number;
  escalateUnacked: boolean;
  autoClearMs: number;
  schedule: ActiveSchedule | null;
  /** the names expressions use, shared by the rules of one compileRules call */
  names: RuleScope;
  raise: CompiledCondition;
  /** null: clears when the raise condition no longer holds (or, for nodata, when data arrives) */
  clear: CompiledCondition | null;
  raiseMs: number;
  raiseSamples: number;
  clearMs: number;
  escalateMs: number;
  escalateTo: Severity;
  latch: boolean;
  nodataMs: number;
  isRate: boolean;
  scope: 'all' | 'type' | 'tag';
  scopeValue: string;
  /** the text of each event: the rule's own template for all of them, or the default that reads right for each */
  text: Record<AlarmEventName, Template>;
}

function fail(rule: string, field: string, problem: string): never {
  throw new M2MError('INVALID_RULE', `rule "${rule}": ${field} ${problem}`, { field });
}

function seconds(rule: string, field: string, raw: unknown): number {
  if (raw === undefined || raw === null || raw === '') return 0;
  const n = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_SECONDS)
    fail(rule, field, `must be 0 to ${MAX_SECONDS} seconds, got ${JSON.stringify(raw)}`);
  return Math.round(n * 1000);
}

function threshold(rule: string, field: string, raw: unknown, type: unknown): ThresholdSource {
  const kind = (type ?? 'num') as ThresholdType;
  if (kind === 'num') {
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isFinite(n)) fail(rule, field, `must be a number, got ${JSON.stringify(raw)}`);
    return { kind, num: n, path: [], describe: String(n) };
  }
  if (kind === 'jsonata') {
    if (typeof raw !== 'string' || raw.trim() === '') fail(rule, field, 'must hold a JSONata expression');
    return { kind, num: NaN, path: [raw], describe: `JSONata ${raw}`, field: `rule "${rule}": ${field}` };
  }
  if (kind !== 'attr' && kind !== 'msg') fail(rule, `${field}Type`, `must be num, attr, msg or jsonata, got ${JSON.stringify(type)}`);
  if (typeof raw !== 'string' || raw === '') fail(rule, field, `must name a ${kind === 'attr' ? 'device attribute' : 'msg property'}`);
  const path = kind === 'attr' ? [raw] : raw.replace(/^msg\./, '').split('.');
  if (path.some((part) => part === '' || isHostileKey(part))) fail(rule, field, `is not a usable property path: ${JSON.stringify(raw)}`);
  return { kind, num: NaN, path, describe: kind === 'attr' ? `device attribute "${raw}"` : `msg.${path.join('.')}` };
}

function condition(rule: string, field: string, def: ConditionDefinition, allowed: readonly string[]): CompiledCondition {
  const op = def.op as RaiseOp;
  if (!allowed.includes(op)) fail(rule, `${field}.op`, `must be one of ${allowed.join(' ')}, got ${JSON.stringify(def.op)}`);
  const compiled: CompiledCondition = { op, test: op === 'nodata' ? PREDICATES['>'] : PREDICATES[op], lo: null, hi: null, rateFactor: 1, direction: 0 };
  if (op === 'nodata') return compiled;
  compiled.lo = threshold(rule, `${field}.value`, def.value, def.valueType);
  if (op === 'between' || op === 'outside') {
    compiled.hi = threshold(rule, `${field}.value2`, def.value2, def.value2Type);
    const { lo, hi } = compiled;
    if (lo.kind === 'num' && hi.kind === 'num' && lo.num > hi.num) fail(rule, `${field}.value2`, `(${hi.num}) must not be below value (${lo.num})`);
  }
  if (op === 'rate') {
    const per = def.per ?? 's';
    if (per !== 's' && per !== 'min') fail(rule, `${field}.per`, `must be "s" or "min", got ${JSON.stringify(per)}`);
    compiled.rateFactor = per === 's' ? 1000 : 60000;
    const direction = def.direction ?? 'either';
    if (!['rise', 'fall', 'either'].includes(direction)) fail(rule, `${field}.direction`, `must be rise, fall or either`);
    compiled.direction = direction === 'rise' ? 1 : direction === 'fall' ? -1 : 0;
  }
  return compiled;
}

const RAISE_OPS = ['>', '>=', '<', '<=', '==', '!=', 'between', 'outside', 'rate', 'nodata'];
const CLEAR_OPS = ['>', '>=', '<', '<=', '==', '!=', 'between', 'outside'];

function severity(rule: string, field: string, raw: unknown): Severity {
  if (!SEVERITIES.includes(raw as Severity)) fail(rule, field, `must be one of ${SEVERITIES.join(' ')}, got ${JSON.stringify(raw)}`);
  return raw as Severity;
}

/**
 * The default text of each event, worded for the rule's conditions, e.g. `fr-1 too-warm raised: temp 31 above 30`
 * and `fr-1 too-warm cleared: temp 27 below 28` (or `temp 29, no longer above 30` when the raise condition ends).
 */
export function defaultTexts(raise: CompiledCondition, clear: CompiledCondition | null): Record<AlarmEventName, string> {
  const head = '{{deviceId}} {{rule}} {{event}}';
  const rate = raise.direction > 0 ? 'rising faster than' : raise.direction < 0 ? 'falling faster than' : WORDS.rate;
  const per = raise.rateFactor === 1000 ? 's' : 'min';
  let raised: string;
  let cleared: string;
  if (raise.op === 'nodata') {
    raised = `${head}: no {{metric}} for {{threshold}} s`;
    cleared = `${head}: {{metric}} {{value}} received again`;
  } else if (raise.op === 'rate') {
    raised = `${head}: {{metric}} ${rate} {{threshold}} per ${per}, now {{value}}`;
    cleared = `${head}: {{metric}} no longer ${rate} {{threshold}} per ${per}, now {{value}}`;
  } else {
    raised = `${head}: {{metric}} {{value}} ${WORDS[raise.op]} {{threshold}}`;
    cleared =
      clear && clear.op !== 'nodata'
        ? `${head}: {{metric}} {{value}} ${WORDS[clear.op]} {{threshold}}`
        : `${head}: {{metric}} {{value}}, no longer ${WORDS[raise.op]} {{threshold}}`;
  }
  const other = `${head} ({{severity}}): {{metric}} {{value}}`;
  return {
    raised,
    cleared,
    acknowledged: other,
    escalated: other,
    deescalated: other,
    reminder: `${head}, still unacknowledged (${'{{severity}}'}): {{metric}} {{value}}`,
    shelved: `${head} ({{severity}})`,
    unshelved: `${head} ({{severity}})`,
  };
}

/** The default texts of an expression or level rule: the condition as written, and the value it compared. */
export function expressionTexts(raise: string, clear: string | null, levels: boolean): Record<AlarmEventName, string> {
  const head = '{{deviceId}} {{rule}} {{event}}';
  const base = defaultTexts({ op: '>', test: PREDICATES['>'], lo: null, hi: null, rateFactor: 1, direction: 0 }, null);
  if (levels) {
    const level = `${head} ({{severity}}): ${raise} {{value}}, level {{threshold}}`;
    return { ...base, raised: level, escalated: level, deescalated: level, cleared: `${head}: ${raise} {{value}}, below every level` };
  }
  return {
    ...base,
    raised: `${head}: ${raise}, now {{value}}`,
    cleared: clear ? `${head}: ${clear}, now {{value}}` : `${head}: no longer ${raise}, now {{value}}`,
  };
}

function texts(name: string, own: unknown, defaults: Record<AlarmEventName, string>): Record<AlarmEventName, Template> {
  const out = {} as Record<AlarmEventName, Template>;
  try {
    if (typeof own === 'string' && own !== '') {
      const template = compileTemplate(own, TEXT_FIELDS);
      for (const event of EVENTS) out[event] = template;
    } else {
      for (const event of EVENTS) out[event] = compileTemplate(defaults[event], TEXT_FIELDS);
    }
  } catch (err) {
    fail(name, 'text', (err as Error).message);
  }
  return out;
}

function expression(rule: string, field: string, source: unknown, type: 'bool' | 'num', scope: RuleScope): RuleExpression {
  if (typeof source !== 'string' || source.trim() === '') fail(rule, field, 'must be an expression, e.g. temperature > 30');
  try {
    const compiled = compileExpression(source, type, scope);
    const index = (m: string): number => scope.metric(m);
    return {
      ...compiled,
      needs: compiled.sampleMetrics.map(index),
      touches: [...new Set([...compiled.sampleMetrics, ...compiled.windowMetrics])].map(index),
      attrIndexes: compiled.attributes.map((a) => scope.attribute(a)),
    };
  } catch (err) {
    if (err instanceof ExprError) {
      throw new M2MError('INVALID_RULE', `rule "${rule}": ${field} ${err.problem} at position ${err.position + 1}: ${JSON.stringify(source)}`, {
        field,
        details: { position: err.position },
      });
    }
    throw err;
  }
}

function levelList(rule: string, raw: unknown, up: boolean): CompiledLevel[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > SEVERITIES.length) fail(rule, 'levels', `must list 1 to ${SEVERITIES.length} levels`);
  const levels = (raw as LevelDefinition[]).map((l, i) => {
    if (typeof l !== 'object' || l === null) fail(rule, `levels[${i}]`, 'must be { severity, value }');
    const value = typeof l.value === 'string' && l.value.trim() !== '' ? Number(l.value) : l.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) fail(rule, `levels[${i}].value`, `must be a number, got ${JSON.stringify(l.value)}`);
    return { severity: severity(rule, `levels[${i}].severity`, l.severity), value };
  });
  levels.sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
  for (let i = 1; i < levels.length; i++) {
    if (levels[i].severity === levels[i - 1].severity) fail(rule, 'levels', `name ${levels[i].severity} twice`);
    if (up ? levels[i].value <= levels[i - 1].value : levels[i].value >= levels[i - 1].value) {
      fail(
        rule,
        'levels',
        `must be ${up ? 'higher' : 'lower'} for each more severe level (${levels[i - 1].severity} ${levels[i - 1].value}, ${levels[i].severity} ${levels[i].value})`,
      );
    }
  }
  return levels;
}

function schedule(rule: string, raw: unknown): ActiveSchedule | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw !== 'object') fail(rule, 'schedule', 'must be { type: weekly, days, from, to, tz } or { type: cron, cron, tz }');
  try {
    return new ActiveSchedule(raw as ScheduleDefinition);
  } catch (err) {
    if (err instanceof ScheduleError) fail(rule, err.field, err.message);
    throw err;
  }
}

export function compileRule(def: RuleDefinition, index: number, scope = new RuleScope()): CompiledRule {
  if (typeof def !== 'object' || def === null) throw new M2MError('INVALID_RULE', `rule ${index + 1} is not an object`, { field: 'rules' });
  const name = typeof def.name === 'string' ? def.name.trim() : '';
  if (!RULE_NAME.test(name)) fail(name || `#${index + 1}`, 'name', 'must be 1 to 64 characters without / + # or control characters');
  const kind = def.condition ?? 'threshold';
  if (kind !== 'threshold' && kind !== 'expression') fail(name, 'condition', `must be threshold or expression, got ${JSON.stringify(def.condition)}`);
  const hasLevels = def.levels !== undefined && def.levels !== null && !(Array.isArray(def.levels) && def.levels.length === 0);
  const levelsUp = (def.levelDirection ?? 'above') !== 'below';
  if (def.levelDirection !== undefined && def.levelDirection !== 'above' && def.levelDirection !== 'below')
    fail(name, 'levelDirection', 'must be above or below');
  const levels = hasLevels ? levelList(name, def.levels, levelsUp) : null;
  if (typeof def.raise !== 'object' || def.raise === null) fail(name, 'raise', 'condition is missing');
  let raiseExpr: RuleExpression | null = null;
  let clearExpr: RuleExpression | null = null;
  let metric = def.metric;
  let raise: CompiledCondition;
  let clear: CompiledCondition | null = null;
  if (kind === 'expression') {
    raiseExpr = expression(name, 'raise.expr', def.raise.expr, levels ? 'num' : 'bool', scope);
    const clearSource = def.clear?.expr;
    if (!levels && typeof clearSource === 'string' && clearSource.trim() !== '') clearExpr = expression(name, 'clear.expr', clearSource, 'bool', scope);
    if (typeof metric !== 'string' || metric === '') metric = [...raiseExpr.sampleMetrics, ...raiseExpr.windowMetrics][0] ?? '';
    raise = { op: '>', test: PREDICATES['>'], lo: null, hi: null, rateFactor: 1, direction: 0 };
  } else {
    if (typeof metric !== 'string' || metric === '' || isHostileKey(metric)) fail(name, 'metric', 'must name a telemetry metric');
    if (levels) raise = { op: levelsUp ? '>' : '<', test: PREDICATES[levelsUp ? '>' : '<'], lo: null, hi: null, rateFactor: 1, direction: 0 };
    else {
      raise = condition(name, 'raise', def.raise, RAISE_OPS);
      const clearDef = def.clear && def.clear.op !== 'auto' ? def.clear : undefined;
      if (clearDef && (raise.op === 'nodata' || raise.op === 'rate')) fail(name, 'clear.op', `must be "auto" for a ${raise.op} rule`);
      clear = clearDef ? condition(name, 'clear', clearDef, CLEAR_OPS) : null;
    }
  }
  const sev = levels ? levels[0].severity : severity(name, 'severity', def.severity);
  const escalateMs = seconds(name, 'escalateAfter', def.escalateAfter);
  const escalateTo = escalateMs > 0 ? severity(name, 'escalateTo', def.escalateTo) : sev;
  const top = levels ? levels[levels.length - 1].severity : sev;
  if (escalateMs > 0 && SEVERITIES.indexOf(escalateTo) <= SEVERITIES.indexOf(levels ? sev : top))
    fail(name, 'escalateTo', `(${escalateTo}) must be above the severity (${sev})`);
  const escalateWhen = def.escalateWhen ?? 'active';
  if (escalateWhen !== 'active' && escalateWhen !== 'unacknowledged') fail(name, 'escalateWhen', 'must be active or unacknowledged');
  const samples = def.raiseSamples === undefined || (def.raiseSamples as unknown) === '' ? 1 : Number(def.raiseSamples);
  if (!Number.isInteger(samples) || samples < 1 || samples > 65535)
    fail(name, 'raiseSamples', `must be a whole number from 1 to 65535, got ${JSON.stringify(def.raiseSamples)}`);
  const scopeKind = def.scope ?? 'all';
  if (scopeKind !== 'all' && scopeKind !== 'type' && scopeKind !== 'tag') fail(name, 'scope', `must be all, type or tag`);
  if (scopeKind !== 'all' && (typeof def.scopeValue !== 'string' || def.scopeValue === '')) fail(name, 'scopeValue', `must name the device ${scopeKind}`);
  const nodataMs = raise.op === 'nodata' ? seconds(name, 'raise.value', def.raise.value) : 0;
  if (raise.op === 'nodata' && nodataMs <= 0) fail(name, 'raise.value', 'must be the seconds of silence (more than 0)');
  const hysteresis = def.hysteresis === undefined || (def.hysteresis as unknown) === '' ? 0 : Number(def.hysteresis);
  if (!Number.isFinite(hysteresis) || hysteresis < 0) fail(name, 'hysteresis', `must be 0 or more, got ${JSON.stringify(def.hysteresis)}`);
  const missing = def.missing ?? 'wait';
  if (missing !== 'wait' && missing !== 'last') fail(name, 'missing', 'must be wait or last');
  if (missing === 'last' && raiseExpr) for (const m of [...raiseExpr.needs, ...(clearExpr?.needs ?? [])]) scope.lastKnown.add(m);
  const autoClearMs = seconds(name, 'autoClearAfter', def.autoClearAfter);
  if (autoClearMs > 0 && (clear || clearExpr || levels || nodataMs > 0))
    fail(name, 'autoClearAfter', 'is for rules without a clear condition (no clear condition, no levels, not no-data)');
  const defaults =
    kind === 'expression'
      ? expressionTexts((raiseExpr as RuleExpression).source.trim(), clearExpr?.source.trim() ?? null, levels !== null)
      : levels
        ? expressionTexts(metric, null, true)
        : defaultTexts(raise, clear);
  return {
    index,
    name,
    metric,
    severity: sev,
    kind,
    raiseExpr,
    clearExpr,
    levels,
    levelsUp,
    hysteresis,
    lastKnown: missing === 'last',
    reminderMs: seconds(name, 'reminderEvery', def.reminderEvery),
    escalateUnacked: escalateWhen === 'unacknowledged',
    autoClearMs,
    schedule: schedule(name, def.schedule),
    names: scope,
    raise,
    clear,
    raiseMs: seconds(name, 'raiseDelay', def.raiseDelay),
    raiseSamples: samples,
    clearMs: seconds(name, 'clearDelay', def.clearDelay),
    escalateMs,
    escalateTo,
    latch: def.latch === true,
    nodataMs,
    isRate: raise.op === 'rate',
    scope: scopeKind,
    scopeValue: scopeKind === 'all' ? '' : (def.scopeValue as string),
    text: texts(name, def.text, defaults),
  };
}

export function compileRules(defs: unknown): CompiledRule[] {
  if (!Array.isArray(defs)) throw new M2MError('INVALID_RULE', 'rules must be a list', { field: 'rules' });
  const scope = new RuleScope();
  const rules = defs.map((def, i) => compileRule(def as RuleDefinition, i, scope));
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.name)) fail(rule.name, 'name', 'is used by two rules');
    seen.add(rule.name);
  }
  return rules;
}

/** Whether any rule needs the registry (attribute thresholds or a type/tag scope). */
export function needsRegistry(rules: readonly CompiledRule[]): boolean {
  return rules.some(
    (r) =>
      r.scope !== 'all' ||
      (r.raiseExpr?.attributes.length ?? 0) > 0 ||
      (r.clearExpr?.attributes.length ?? 0) > 0 ||
      [r.raise.lo, r.raise.hi, r.clear?.lo, r.clear?.hi].some((t) => t?.kind === 'attr'),
  );
}

/**
 * Where the node puts the values of this message's JSONata thresholds (expression -> result) before the engine
 * reads it: JSONata is asynchronous and evaluated by Node-RED, the engine is neither.
 */
export const JSONATA_VALUES = Symbol('m2m.rule.jsonataValues');
export type WithJsonataValues = Record<string, unknown> & { [JSONATA_VALUES]?: ReadonlyMap<string, unknown> };

/** Each JSONata threshold of the rules once, with the rule and property it was written in. */
export function jsonataThresholds(rules: readonly CompiledRule[]): JsonataField[] {
  const found = new Map<string, JsonataField>();
  for (const r of rules) {
    for (const t of [r.raise.lo, r.raise.hi, r.clear?.lo, r.clear?.hi]) {
      if (t?.kind === 'jsonata' && !found.has(t.path[0])) found.set(t.path[0], { field: t.field ?? t.describe, expression: t.path[0] });
    }
  }
  return [...found.values()];
}

/** A threshold's value for this device and message, or NaN (with the reason from `thresholdProblem`). */
export function resolveThreshold(src: ThresholdSource, deviceId: string, msg: WithJsonataValues, lookup: DeviceLookup | undefined): number {
  if (src.kind === 'num') return src.num;
  let value: unknown;
  if (src.kind === 'jsonata') {
    value = msg[JSONATA_VALUES]?.get(src.path[0]);
  } else if (src.kind === 'attr') {
    value = lookup?.(deviceId)?.attributes[src.path[0]];
  } else {
    value = msg;
    for (let i = 0; i < src.path.length && value !== undefined && value !== null; i++) value = (value as Record<string, unknown>)[src.path[i]];
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : NaN;
}
