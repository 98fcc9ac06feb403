import type { RampSpec } from './types';

/** How far a late timer may catch up on the schedule, at most: a stall does not turn into a burst. */
const MAX_LAG_MS = 50;

/**
 * Spaces a job's starts evenly at its current rate (per minute), so that at most that many start in any
 * minute. A timer that fires late may catch up on the schedule by a little (under half a start's interval, and
 * 50 ms at most), which keeps the average rate true at high rates. With a ramp, the rate starts low and is
 * multiplied by the ramp's factor after every `afterSucceeded` successes while the success rate holds.
 */
export class Pacer {
  private nextAt = Number.NEGATIVE_INFINITY;
  private succeededAtStep = 0;

  constructor(
    private readonly perMinute: number,
    private readonly ramp: RampSpec | undefined,
    /** Ramp steps taken so far (persisted with the job). */
    public step = 0,
  ) {}

  ratePerMinute(): number {
    if (!this.ramp) return this.perMinute;
    return Math.min(this.perMinute, this.ramp.startPerMinute * this.ramp.factor ** this.step);
  }

  /** Milliseconds until the next start may happen (0: now). */
  wait(now: number): number {
    return Math.max(0, Math.ceil(this.nextAt - now));
  }

  /** Records a start at `now`. */
  take(now: number): void {
    const interval = 60_000 / this.ratePerMinute();
    const lag = Math.min(MAX_LAG_MS, interval / 2);
    this.nextAt = Math.max(this.nextAt, now - lag) + interval;
  }

  /** Counts a success; true when the rate stepped up. */
  succeeded(successPercent: number): boolean {
    if (!this.ramp || this.ratePerMinute() >= this.perMinute) return false;
    this.succeededAtStep++;
    if (this.succeededAtStep < this.ramp.afterSucceeded || successPercent < this.ramp.minSuccessPercent) return false;
    this.succeededAtStep = 0;
    this.step++;
    return true;
  }
}
