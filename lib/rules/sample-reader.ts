// The first pass over a telemetry sample: which rules it concerns (metric present, device in scope), each value
// as a number and each threshold resolved, into scratch arrays by rule index. It throws before any state
// changes, so that a bad sample changes nothing.
import { M2MError } from '../errors';
import { isPlainObject } from '../safe';
import * as flags from './alarm-flags';
import type { AlarmTable } from './alarm-table';
import type { SampleThresholds } from './alarm-transitions';
import { type CompiledCondition, type CompiledRule, resolveThreshold, type RuleExpression } from './compile';
import type { ExprInputs, WindowFn } from './expr';
import type { RuleScope } from './rule-scope';
import { FloatSlots } from './slot-store';
import type { DeviceLookup } from './types';
import { Windows, WindowSpecs } from './windows';

// Copied once: on the per-sample path, an import compiled to CommonJS (tsx, ts-node) is a getter call per use.
const { IN_SCOPE, SCOPE_KNOWN } = flags;

/** Messages without a rule's metric, before the rule has ever seen it, after which the node hints at a typo. */
export const MISSING_METRIC_HINT_AFTER = 20;

const FN_CODES: Record<WindowFn, number> = { avg: 0, min: 1, max: 2, sum: 3, count: 4, delta: 5, rate: 6 };

/** Window values computed for the sample being evaluated: rules naming the same window function share one reading. */
class WindowReadings {
  /** bumped for every sample: a reading of another sample is stale */
  sample = 1;
  slot = -1;
  private readonly at: Int32Array;
  private readonly values: Float64Array;
  constructor(private readonly windows: Windows) {
    this.at = new Int32Array(windows.layouts.length * 7);
    this.values = new Float64Array(windows.layouts.length * 7);
  }

  read(w: number, fn: WindowFn): number {
    const i = w * 7 + FN_CODES[fn];
    if (this.at[i] === this.sample) return this.values[i];
    this.at[i] = this.sample;
    return (this.values[i] = this.windows.value(this.slot, w, fn));
  }
}

/** What an expression reads: this sample's metrics (or last values), the device's attributes and windows. */
class Inputs implements ExprInputs {
  constructor(
    readonly metrics: Float64Array,
    readonly attributes: Float64Array,
    private readonly readings: WindowReadings,
  ) {}

  window(w: number, fn: WindowFn): number {
    return this.readings.read(w, fn);
  }
}

export class SampleReader implements SampleThresholds {
  /** per rule: 1 when the sample concerns it */
  readonly applies: Uint8Array;
  /** expression rules: whether the raise and clear conditions hold */
  readonly raiseCond: Uint8Array;
  readonly clearCond: Uint8Array;
  readonly windows: Windows;
  /** per device, the last value of each metric a rule with `missing: last` uses */
  readonly lastValues: FloatSlots;
  private readonly names: RuleScope | undefined;
  /** this sample's value of each metric expressions name, NaN when absent; 2 in `kinds` for a non-number */
  private readonly sample: Float64Array;
  private readonly known: Float64Array;
  private readonly kinds: Uint8Array;
  private readonly raws: unknown[];
  private readonly attrs: Float64Array;
  private readonly readings: WindowReadings;
  private readonly now: Inputs;
  private readonly withLast: Inputs;
  readonly values: Float64Array;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly clo: Float64Array;
  readonly chi: Float64Array;
  /** per rule: messages without its metric while it has never seen it; -1 once seen or hinted */
  private readonly missing: Int32Array;

  constructor(
    private readonly rules: readonly CompiledRule[],
    private readonly table: AlarmTable,
    private readonly lookup: DeviceLookup | undefined,
    private readonly onHint: (message: string) => void,
  ) {
    const n = table.ruleCount;
    this.applies = new Uint8Array(n);
    this.values = new Float64Array(n);
    this.lo = new Float64Array(n);
    this.hi = new Float64Array(n);
    this.clo = new Float64Array(n);
    this.chi = new Float64Array(n);
    this.missing = new Int32Array(n);
    this.raiseCond = new Uint8Array(n);
    this.clearCond = new Uint8Array(n);
    this.names = rules.find((r) => r.kind === 'expression')?.names;
    const names = this.names;
    if (names && rules.some((r) => r.kind === 'expression' && r.names !== names))
      throw new Error('the rules of one engine must come from one compileRules call');
    const metrics = names?.metrics.length ?? 0;
    this.sample = new Float64Array(metrics);
    this.known = new Float64Array(metrics);
    this.kinds = new Uint8Array(metrics);
    this.raws = new Array<unknown>(metrics);
    this.attrs = new Float64Array(names?.attributes.length ?? 0);
    this.windows = new Windows(names?.windows ?? new WindowSpecs());
    this.lastValues = new FloatSlots(metrics);
    this.readings = new WindowReadings(this.windows);
    this.now = new Inputs(this.sample, this.attrs, this.readings);
    this.withLast = new Inputs(this.known, this.attrs, this.readings);
  }

  /** The per-device stores beside the alarm table. */
  get stores(): FloatSlots[] {
    return [...this.windows.stores, this.lastValues];
  }

  /** Second pass, once the device has a slot: windows and last values take the sample in, then expressions run. */
  evaluate(slot: number, ts: number): void {
    const names = this.names;
    if (!names) return;
    const windows = this.windows;
    for (let w = 0; w < windows.layouts.length; w++) windows.advance(slot, w, ts);
    const stride = this.lastValues.stride;
    for (let m = 0; m < this.sample.length; m++) {
      const x = this.sample[m];
      if (x === x) {
        const fed = windows.byMetric.get(names.metrics[m]);
        if (fed) for (const w of fed) windows.add(slot, w, x, ts);
        if (names.lastKnown.has(m)) this.lastValues.data[slot * stride + m] = x;
        this.known[m] = x;
      } else {
        this.known[m] = this.lastValues.data[slot * stride + m];
      }
    }
    this.readings.slot = slot;
    this.readings.sample = (this.readings.sample + 1) | 0 || 1;
    for (let r = 0; r < this.rules.length; r++) {
      const rule = this.rules[r];
      const raise = rule.raiseExpr;
      if (!raise || this.applies[r] !== 1) continue;
      const inputs = rule.lastKnown ? this.withLast : this.now;
      if (rule.lastKnown && raise.needs.some((m) => this.known[m] !== this.known[m])) {
        this.applies[r] = 0;
        continue;
      }
      const result = raise.run(inputs);
      if (result !== result) {
        this.applies[r] = 0;
        continue;
      }
      if (rule.levels) {
        this.values[r] = result;
        continue;
      }
      this.raiseCond[r] = result;
      const clear = rule.clearExpr;
      this.clearCond[r] = clear ? (clear.run(inputs) === 1 ? 1 : 0) : 1 - result;
      this.values[r] = raise.left ? raise.left(inputs) : result;
      this.lo[r] = raise.right ? raise.right(inputs) : NaN;
      this.hi[r] = NaN;
      this.clo[r] = clear?.right ? clear.right(inputs) : this.lo[r];
      this.chi[r] = NaN;
    }
  }

  /** Reads the metrics expressions name, once per sample. */
  private readMetrics(payload: Record<string, unknown>): void {
    const names = this.names as RuleScope;
    for (let m = 0; m < this.sample.length; m++) {
      const raw = metricOf(payload, names.metrics[m]);
      const x = raw === undefined ? NaN : typeof raw === 'number' ? raw : typeof raw === 'boolean' ? (raw ? 1 : 0) : NaN;
      this.sample[m] = Number.isFinite(x) ? x : NaN;
      this.kinds[m] = raw === undefined ? 0 : Number.isFinite(x) ? 1 : 2;
      this.raws[m] = raw;
    }
  }

  /**
   * First pass of an expression rule, throwing for a non-number or a missing attribute: 1 when the sample is to be
   * evaluated, 2 when it only feeds the device's windows and last values (a metric the expression needs is absent),
   * 0 when it does not concern the rule.
   */
  private readExpression(slot: number, r: number, id: string, rule: CompiledRule): 0 | 1 | 2 {
    const raise = rule.raiseExpr as RuleExpression;
    const clear = rule.clearExpr;
    const touched = this.touches(rule, raise) || (clear !== null && this.touches(rule, clear));
    if (!touched || !this.inScope(slot, r, id, rule)) return 0;
    // waiting for a sample that carries every metric named outside a window (or, with `missing: last`, for their last values)
    if (!rule.lastKnown) for (const m of raise.needs) if (this.kinds[m] !== 1) return 2;
    this.readAttributes(rule, raise, id);
    if (clear) this.readAttributes(rule, clear, id);
    return 1;
  }

  /** Whether the sample carries a metric the expression names; throws NOT_A_NUMBER for one that is not a number. */
  private touches(rule: CompiledRule, expr: RuleExpression): boolean {
    let touched = false;
    const touches = expr.touches;
    for (let i = 0; i < touches.length; i++) {
      const m = touches[i];
      const kind = this.kinds[m];
      if (kind === 2) {
        const name = rule.names.metrics[m];
        throw new M2MError('NOT_A_NUMBER', `rule "${rule.name}" metric "${name}": value ${describe(this.raws[m])} is not a number`, {
          field: `payload.${name}`,
        });
      }
      if (kind === 1) touched = true;
    }
    return touched;
  }

  private readAttributes(rule: CompiledRule, expr: RuleExpression, id: string): void {
    if (expr.attrIndexes.length === 0) return;
    const attributes = this.lookup?.(id)?.attributes;
    for (let i = 0; i < expr.attrIndexes.length; i++) {
      const name = expr.attributes[i];
      const value = attributes?.[name];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new M2MError('NO_THRESHOLD', `rule "${rule.name}": attr.${name} is missing or not a number for device ${id}`, { field: `attributes.${name}` });
      }
      this.attrs[expr.attrIndexes[i]] = value;
    }
  }

  /** Reads a sample of device `id` (its slot, or -1 if untracked). Returns whether any rule applies. */
  read(slot: number, id: string, payload: Record<string, unknown>, msg: Record<string, unknown>): boolean {
    let any = false;
    if (this.names) this.readMetrics(payload);
    for (let r = 0; r < this.rules.length; r++) {
      const rule = this.rules[r];
      this.applies[r] = 0;
      if (rule.kind === 'expression') {
        const use = this.readExpression(slot, r, id, rule);
        if (use !== 0) any = true;
        if (use === 1) this.applies[r] = 1;
        continue;
      }
      const raw = metricOf(payload, rule.metric);
      if (raw === undefined) {
        if (this.missing[r] >= 0) this.countMissing(slot, r, id, rule, payload);
        continue;
      }
      if (!this.inScope(slot, r, id, rule)) continue;
      this.missing[r] = -1;
      const x = typeof raw === 'number' ? raw : typeof raw === 'boolean' ? (raw ? 1 : 0) : NaN;
      if (!Number.isFinite(x)) {
        throw new M2MError('NOT_A_NUMBER', `rule "${rule.name}" metric "${rule.metric}": value ${describe(raw)} is not a number`, {
          field: `payload.${rule.metric}`,
        });
      }
      this.values[r] = x;
      this.lo[r] = this.threshold(rule, rule.raise, rule.raise.lo, id, msg);
      this.hi[r] = this.threshold(rule, rule.raise, rule.raise.hi, id, msg);
      const clear = rule.clear ?? rule.raise;
      this.clo[r] = rule.clear ? this.threshold(rule, clear, clear.lo, id, msg) : this.lo[r];
      this.chi[r] = rule.clear ? this.threshold(rule, clear, clear.hi, id, msg) : this.hi[r];
      this.applies[r] = 1;
      any = true;
    }
    return any;
  }

  /** The device's type or tags may have changed: work out rule scopes again on its next sample. */
  forgetScope(slot: number): void {
    const t = this.table;
    for (let r = 0, k = slot * t.ruleCount; r < t.ruleCount; r++, k++) t.flags[k] &= ~(SCOPE_KNOWN | IN_SCOPE);
  }

  /** The error for a missing payload or device id, naming the rules that need it. */
  inputError(field: string, problem: string, payload: unknown): M2MError {
    const used = isPlainObject(payload) ? this.rules.filter((r) => metricOf(payload, r.metric) !== undefined) : [];
    const which = (used.length ? used : this.rules).map((r) => `"${r.name}" (${r.metric})`).join(', ');
    return new M2MError(field === 'msg.deviceId' ? 'INVALID_DEVICE_ID' : 'INVALID_PAYLOAD', `${field} ${problem}; needed by rule ${which}`, { field });
  }

  private threshold(rule: CompiledRule, cond: CompiledCondition, src: CompiledCondition['lo'], id: string, msg: Record<string, unknown>): number {
    if (src === null) return NaN;
    if (src.kind === 'num') return src.num;
    const value = resolveThreshold(src, id, msg, this.lookup);
    if (Number.isNaN(value)) {
      throw new M2MError(
        'NO_THRESHOLD',
        `rule "${rule.name}" metric "${rule.metric}": threshold ${src.describe} of ${cond.op} is missing or not a number for device ${id}`,
        {
          field: src.kind === 'msg' ? src.path.join('.') : src.kind === 'jsonata' ? (src.field ?? src.describe) : `attributes.${src.path[0]}`,
        },
      );
    }
    return value;
  }

  /** Whether the rule's scope takes in the device; remembered in the device's flags once it has a slot. */
  private inScope(slot: number, r: number, id: string, rule: CompiledRule): boolean {
    if (rule.scope === 'all') return true;
    if (slot >= 0) {
      const k = slot * this.table.ruleCount + r;
      const f = this.table.flags[k];
      if (f & SCOPE_KNOWN) return (f & IN_SCOPE) !== 0;
      const inside = this.computeScope(id, rule);
      this.table.flags[k] = f | SCOPE_KNOWN | (inside ? IN_SCOPE : 0);
      return inside;
    }
    return this.computeScope(id, rule);
  }

  private computeScope(id: string, rule: CompiledRule): boolean {
    const facts = this.lookup?.(id);
    if (!facts) return false;
    return rule.scope === 'type' ? facts.type === rule.scopeValue : facts.tags.includes(rule.scopeValue);
  }

  /** Counts a message without the rule's metric; hints once when none of the first ones carried it. */
  private countMissing(slot: number, r: number, id: string, rule: CompiledRule, payload: Record<string, unknown>): void {
    if (!this.inScope(slot, r, id, rule) || ++this.missing[r] < MISSING_METRIC_HINT_AFTER) return;
    this.missing[r] = -1;
    const carried = Object.keys(payload)
      .slice(0, 8)
      .map((m) => JSON.stringify(m.slice(0, 40)));
    this.onHint(
      `rule "${rule.name}": none of the first ${MISSING_METRIC_HINT_AFTER} messages carried metric "${rule.metric}" (the last one had ${carried.join(', ') || 'no metrics'}); check the rule's metric name`,
    );
  }
}

/** The payload's own value for a metric: a metric named like an Object method (valueOf, toString) is not inherited. */
function metricOf(payload: Record<string, unknown>, metric: string): unknown {
  const raw = payload[metric];
  return raw === undefined || typeof raw === 'number' || Object.hasOwn(payload, metric) ? raw : undefined;
}

/** A short description of a value for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
