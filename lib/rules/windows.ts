// Derived metrics over windows, per device: the last T of time or the last N samples of one metric.
// A time window is 60 buckets of T/60, each holding only what the functions used on it need (count; sum for avg
// and sum; min; max; the first value and time for delta and rate), so its memory is fixed whatever the sample rate,
// and a sample leaves the window between T and T + T/60 after its timestamp. A sample window is a ring of the last
// N values (and their times when rate is used). Memory per device and window: see bytesPerDevice. A device silent
// longer than a time window finds it empty: buckets older than T are cleared before a new sample goes in.
import type { WindowFn, WindowSpec } from './expr';
import { FloatSlots } from './slot-store';

export const TIME_BUCKETS = 60;

interface Layout {
  spec: WindowSpec;
  key: string;
  fns: Set<WindowFn>;
  store: FloatSlots;
  // offsets in a slot's block; -1 when the functions used need no such field
  sum: number;
  min: number;
  max: number;
  first: number;
  fields: number;
  withTimes: boolean;
}

// time window block: [head epoch, last value, last time, then per bucket: count, (sum), (min), (max), (first value, first time)]
// sample window block: [next index, filled, then N values, then (N times)]
const HEAD = 0;
const LAST_V = 1;
const LAST_TS = 2;
const BUCKETS_AT = 3;

export class WindowSpecs {
  readonly list: Array<{ spec: WindowSpec; fns: Set<WindowFn> }> = [];

  /** The index of a window (the same metric, kind and size share one), noting the function used on it. */
  intern(spec: WindowSpec, fn: WindowFn): number {
    let i = this.list.findIndex((w) => w.spec.metric === spec.metric && w.spec.by === spec.by && w.spec.size === spec.size);
    if (i < 0) i = this.list.push({ spec: { ...spec }, fns: new Set() }) - 1;
    this.list[i].fns.add(fn);
    return i;
  }
}

function layout(spec: WindowSpec, fns: Set<WindowFn>): Layout {
  const withTimes = fns.has('rate') || (spec.by === 'time' && fns.has('delta'));
  let fields = 1;
  const take = (need: boolean, n = 1): number => (need ? (fields += n) - n : -1);
  const sum = take(fns.has('avg') || fns.has('sum'));
  const min = take(fns.has('min'));
  const max = take(fns.has('max'));
  const first = take(fns.has('delta') || fns.has('rate'), 2);
  const stride = spec.by === 'time' ? BUCKETS_AT + TIME_BUCKETS * fields : 2 + spec.size * (withTimes ? 2 : 1);
  const key = `${spec.metric}|${spec.by}|${spec.size}|${[...fns].sort().join(',')}`;
  return { spec, key, fns, store: new FloatSlots(stride), sum, min, max, first, fields, withTimes };
}

/** Bytes a window holds per device, whatever the sample rate. */
export function bytesPerDevice(spec: WindowSpec, fns: Set<WindowFn>): number {
  return layout(spec, fns).store.stride * 8;
}

/** A saved window: its layout key and block, NaN written as null. */
export interface PersistedWindow {
  key: string;
  data: Array<number | null>;
}

export class Windows {
  readonly layouts: Layout[];
  /** per metric name, the windows fed by it */
  readonly byMetric = new Map<string, number[]>();

  constructor(specs: WindowSpecs) {
    this.layouts = specs.list.map((w) => layout(w.spec, w.fns));
    this.layouts.forEach((l, i) => {
      const list = this.byMetric.get(l.spec.metric) ?? [];
      list.push(i);
      this.byMetric.set(l.spec.metric, list);
    });
  }

  get stores(): FloatSlots[] {
    return this.layouts.map((l) => l.store);
  }

  /** Adds a sample (ts in ms) to window w of a device. */
  add(slot: number, w: number, x: number, ts: number): void {
    const l = this.layouts[w];
    const d = l.store.data;
    const base = slot * l.store.stride;
    if (l.spec.by === 'samples') {
      const n = l.spec.size;
      let next = d[base];
      if (next !== next) {
        next = 0;
        d[base + 1] = 0;
      }
      d[base + 2 + next] = x;
      if (l.withTimes) d[base + 2 + n + next] = ts;
      d[base] = (next + 1) % n;
      if (d[base + 1] < n) d[base + 1]++;
      return;
    }
    const width = l.spec.size / TIME_BUCKETS;
    const epoch = Math.floor(ts / width);
    const head = d[base + HEAD];
    if (head !== head || epoch - head >= TIME_BUCKETS) {
      this.emptyBuckets(l, base);
      d[base + HEAD] = epoch;
    } else if (epoch > head) {
      for (let e = head + 1; e <= epoch; e++) this.emptyBucket(l, base, e);
      d[base + HEAD] = epoch;
    } else if (head - epoch >= TIME_BUCKETS) {
      return; // older than the window
    }
    const b = base + BUCKETS_AT + (epoch % TIME_BUCKETS) * l.fields;
    const count = d[b];
    if (!(count > 0)) {
      d[b] = 1;
      if (l.sum >= 0) d[b + l.sum] = x;
      if (l.min >= 0) d[b + l.min] = x;
      if (l.max >= 0) d[b + l.max] = x;
      if (l.first >= 0) {
        d[b + l.first] = x;
        d[b + l.first + 1] = ts;
      }
    } else {
      d[b] = count + 1;
      if (l.sum >= 0) d[b + l.sum] += x;
      if (l.min >= 0 && x < d[b + l.min]) d[b + l.min] = x;
      if (l.max >= 0 && x > d[b + l.max]) d[b + l.max] = x;
      if (l.first >= 0 && ts < d[b + l.first + 1]) {
        d[b + l.first] = x;
        d[b + l.first + 1] = ts;
      }
    }
    if (!(d[base + LAST_TS] > ts)) {
      d[base + LAST_V] = x;
      d[base + LAST_TS] = ts;
    }
  }

  /** Moves a time window up to `now` (dropping what fell out), e.g. before reading it at a time without a sample. */
  advance(slot: number, w: number, now: number): void {
    const l = this.layouts[w];
    if (l.spec.by !== 'time') return;
    const d = l.store.data;
    const base = slot * l.store.stride;
    const head = d[base + HEAD];
    if (head !== head) return;
    const epoch = Math.floor(now / (l.spec.size / TIME_BUCKETS));
    if (epoch <= head) return;
    if (epoch - head >= TIME_BUCKETS) this.emptyBuckets(l, base);
    else for (let e = head + 1; e <= epoch; e++) this.emptyBucket(l, base, e);
    d[base + HEAD] = epoch;
  }

  /** The function's value over the device's window; NaN when it has no value (empty window; rate of one sample). */
  value(slot: number, w: number, fn: WindowFn): number {
    const l = this.layouts[w];
    return l.spec.by === 'time' ? this.timeValue(l, slot * l.store.stride, fn) : this.sampleValue(l, slot * l.store.stride, fn);
  }

  /** The device's windows to save (only the non-empty ones), or undefined. */
  save(slot: number): PersistedWindow[] | undefined {
    let out: PersistedWindow[] | undefined;
    for (const l of this.layouts) {
      const block = l.store.data.subarray(slot * l.store.stride, (slot + 1) * l.store.stride);
      if (block[0] !== block[0]) continue;
      (out ??= []).push({ key: l.key, data: Array.from(block, (n) => (Number.isNaN(n) ? null : n)) });
    }
    return out;
  }

  /** Brings saved windows back; one whose layout changed since (another size or function) is dropped. */
  restore(slot: number, saved: readonly PersistedWindow[]): void {
    for (const w of saved) {
      const l = this.layouts.find((x) => x.key === w.key);
      if (!l || !Array.isArray(w.data) || w.data.length !== l.store.stride) continue;
      const base = slot * l.store.stride;
      for (let i = 0; i < w.data.length; i++) {
        const n = w.data[i];
        l.store.data[base + i] = typeof n === 'number' && Number.isFinite(n) ? n : NaN;
      }
    }
  }

  /** Whether any window of the device holds samples. */
  holdsData(slot: number): boolean {
    for (const l of this.layouts) if (l.store.data[slot * l.store.stride] === l.store.data[slot * l.store.stride]) return true;
    return false;
  }

  private emptyBuckets(l: Layout, base: number): void {
    l.store.data.fill(NaN, base, base + l.store.stride);
  }

  private emptyBucket(l: Layout, base: number, epoch: number): void {
    const b = base + BUCKETS_AT + (epoch % TIME_BUCKETS) * l.fields;
    l.store.data.fill(NaN, b, b + l.fields);
  }

  private timeValue(l: Layout, base: number, fn: WindowFn): number {
    const d = l.store.data;
    const head = d[base + HEAD];
    let count = 0;
    let acc = fn === 'min' ? Infinity : fn === 'max' ? -Infinity : 0;
    let firstV = NaN;
    let firstTs = Infinity;
    if (head === head) {
      for (let i = 0; i < TIME_BUCKETS; i++) {
        const b = base + BUCKETS_AT + i * l.fields;
        const c = d[b];
        if (!(c > 0)) continue;
        count += c;
        if (fn === 'avg' || fn === 'sum') acc += d[b + l.sum];
        else if (fn === 'min') acc = Math.min(acc, d[b + l.min]);
        else if (fn === 'max') acc = Math.max(acc, d[b + l.max]);
        else if ((fn === 'delta' || fn === 'rate') && d[b + l.first + 1] < firstTs) {
          firstTs = d[b + l.first + 1];
          firstV = d[b + l.first];
        }
      }
    }
    return finish(fn, count, acc, firstV, firstTs, d[base + LAST_V], d[base + LAST_TS]);
  }

  private sampleValue(l: Layout, base: number, fn: WindowFn): number {
    const d = l.store.data;
    const n = l.spec.size;
    const filled = d[base + 1] === d[base + 1] ? d[base + 1] : 0;
    if (fn === 'count') return filled;
    if (filled === 0) return fn === 'sum' ? 0 : NaN;
    const next = d[base];
    const oldest = filled < n ? 0 : next;
    const newest = (next - 1 + n) % n;
    if (fn === 'delta' || fn === 'rate') {
      const firstV = d[base + 2 + oldest];
      const lastV = d[base + 2 + newest];
      if (fn === 'delta') return lastV - firstV;
      return finish('rate', filled, 0, firstV, d[base + 2 + n + oldest], lastV, d[base + 2 + n + newest]);
    }
    let acc = fn === 'min' ? Infinity : fn === 'max' ? -Infinity : 0;
    for (let i = 0; i < filled; i++) {
      const x = d[base + 2 + i];
      if (fn === 'min') acc = x < acc ? x : acc;
      else if (fn === 'max') acc = x > acc ? x : acc;
      else acc += x;
    }
    return fn === 'avg' ? acc / filled : acc;
  }
}

function finish(fn: WindowFn, count: number, acc: number, firstV: number, firstTs: number, lastV: number, lastTs: number): number {
  if (fn === 'count') return count;
  if (fn === 'sum') return acc;
  if (count === 0) return NaN;
  if (fn === 'avg') return acc / count;
  if (fn === 'min' || fn === 'max') return acc;
  if (fn === 'delta') return lastV - firstV;
  // rate per second between the first and the last sample of the window
  return count < 2 || !(lastTs > firstTs) ? NaN : ((lastV - firstV) * 1000) / (lastTs - firstTs);
}
