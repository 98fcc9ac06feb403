// Shared measuring tools for bench/: every figure is printed beside a baseline measured in the same run.

export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
}

/** Heap in use after a full collection (run node with --expose-gc for a meaningful figure). */
export function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** Runs `fn` `count` times and returns operations per second. */
export function opsPerSecond(count: number, fn: (i: number) => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - start);
  return count / (ns / 1e9);
}

/** Times each call separately and returns latency percentiles in microseconds. */
export function latencies(count: number, fn: (i: number) => void): { p50: number; p99: number; max: number } {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    fn(i);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  samples.sort();
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples[count - 1] };
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export interface Row {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  baselineName?: string;
  /** Whether a larger value is better (throughput) or worse (latency, bytes). */
  higherIsBetter?: boolean;
}

/** Prints one row: the figure, the baseline's figure, and their ratio. */
export function report(row: Row): void {
  const parts = [`${row.name.padEnd(44)} ${fmt(row.value, row.value < 100 ? 2 : 0).padStart(14)} ${row.unit}`];
  if (row.baseline !== undefined) {
    const ratio = row.value / row.baseline;
    parts.push(`| ${row.baselineName ?? 'baseline'} ${fmt(row.baseline, row.baseline < 100 ? 2 : 0)} ${row.unit} | ratio ${ratio.toFixed(2)}x`);
  }
  console.log(parts.join(' '));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs every contender (a baseline and its candidates) `rounds` times, interleaved: round r starts with
 * contender r mod n, so that no baseline is always measured first, on a fresh heap or a cold JIT, and none always
 * after the others filled the heap. Returns each contender's results, in the order given.
 */
export async function interleaved<T>(rounds: number, contenders: ReadonlyArray<() => T | Promise<T>>): Promise<T[][]> {
  const results: T[][] = contenders.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = (round + k) % contenders.length;
      gc();
      results[c].push(await contenders[c]());
    }
  }
  return results;
}
