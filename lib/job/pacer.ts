import type { RampSpec } from './types';

/** How far starts may catch up on the schedule after a late timer or a busy event loop: a second's worth at most. */
const MAX_LAG_MS = 1000;

/**
 * Spaces a job's starts evenly at its current rate (per minute), so that at most that many start in any
 * minute (give or take a timer's lateness). A timer that fires late lets the next start catch up, which keeps
 * the average rate true at high rates. With a ramp, the rate starts low and is
 * multiplied by the ramp's factor after every `afterSucceeded` successes while the success rate holds.
 */
export class Pacer {
  private nextAt: number | undefined;
  private succeededAtStep = 0;
  /** Held back by something other than the pace (in-flight bound, pause, no work) since the last start. */
  private stalled = true;

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
    return this.nextAt === undefined ? 0 : Math.max(0, Math.ceil(this.nextAt - now));
  }

  /** Something other than the pace holds starts back: the next start begins a new schedule. */
  stall(): void {
    this.stalled = true;
  }

  /**
   * Records a start at `now`. Only a start that waited for the pace keeps to the schedule (so a late timer
   * catches up, by a second's worth at most); after a stall the schedule starts again from now, so no burst follows it.
   */
  take(now: number): void {
    const interval = 60_000 / this.ratePerMinute();
    const base = this.nextAt === undefined || this.stalled ? now : Math.max(this.nextAt, now - MAX_LAG_MS);
    this.nextAt = base + interval;
    this.stalled = false;
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
