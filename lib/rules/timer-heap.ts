// One timer for every deadline of every device and rule: a binary min-heap of (deadline, key) in typed arrays
// and a single setTimeout armed for the earliest. Entries made stale by a state change are left in place and
// skipped when they come up (the owner checks its own deadline), so scheduling never searches the heap.

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export class TimerHeap {
  private times = new Float64Array(64);
  private keys = new Int32Array(64);
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private closed = false;

  constructor(
    private readonly fire: (key: number, deadline: number, now: number) => void,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get length(): number {
    return this.size;
  }

  push(deadline: number, key: number): void {
    if (this.closed) return;
    if (this.size === this.times.length) this.grow();
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.times[parent] <= deadline) break;
      this.times[i] = this.times[parent];
      this.keys[i] = this.keys[parent];
      i = parent;
    }
    this.times[i] = deadline;
    this.keys[i] = key;
    if (deadline < this.armedAt) this.arm();
  }

  /** Forgets every entry (the owner schedules what it still needs again); the heap stays usable. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
    this.size = 0;
    if (this.times.length > 64) {
      this.times = new Float64Array(64);
      this.keys = new Int32Array(64);
    }
  }

  /** Stops the timer and forgets every entry; pushes after this are ignored. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.size = 0;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
    if (this.size === 0 || this.closed) return;
    this.armedAt = this.times[0];
    const delay = Math.min(MAX_TIMEOUT_MS, Math.max(0, this.armedAt - this.now()));
    this.timer = setTimeout(() => this.run(), delay);
    this.timer.unref?.();
  }

  private run(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = this.now();
    while (this.size > 0 && this.times[0] <= now && !this.closed) {
      const deadline = this.times[0];
      const key = this.keys[0];
      this.pop();
      this.fire(key, deadline, now);
    }
    // Re-arm on the heap's head: entries pushed while firing may have armed a later timer.
    this.arm();
  }

  private pop(): void {
    const last = --this.size;
    const time = this.times[last];
    const key = this.keys[last];
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= last) break;
      const right = left + 1;
      const child = right < last && this.times[right] < this.times[left] ? right : left;
      if (this.times[child] >= time) break;
      this.times[i] = this.times[child];
      this.keys[i] = this.keys[child];
      i = child;
    }
    this.times[i] = time;
    this.keys[i] = key;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    times.set(this.times);
    const keys = new Int32Array(this.keys.length * 2);
    keys.set(this.keys);
    this.times = times;
    this.keys = keys;
  }
}
