/**
 * Turns a stream of "something changed" marks into at most one publication per topic every `intervalMs`:
 * the first mark after a quiet period goes out at once, marks during the interval collapse into one that goes
 * out when it ends. An alarm storm of thousands of transitions a second costs the editor a few messages.
 */
export class Coalescer {
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = -Infinity;
  private closed = false;

  constructor(
    private readonly publish: (topic: string) => void,
    private readonly intervalMs = 250,
    private readonly now: () => number = () => Date.now(),
  ) {}

  mark(topic: string): void {
    if (this.closed) return;
    this.dirty.add(topic);
    if (this.timer) return;
    const wait = this.lastFlush + this.intervalMs - this.now();
    if (wait <= 0) {
      this.flush();
    } else {
      this.timer = setTimeout(() => this.flush(), wait);
      this.timer.unref?.();
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty.clear();
  }

  private flush(): void {
    this.timer = undefined;
    this.lastFlush = this.now();
    const topics = [...this.dirty];
    this.dirty.clear();
    for (const topic of topics) this.publish(topic);
  }
}
