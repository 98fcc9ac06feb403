/**
 * Runs tasks one after another per key, in the order they were given; tasks of different keys never wait for
 * each other. A task whose key has nothing pending runs at once, synchronously, and a task that returns a plain
 * value leaves no trace: no promise, no entry, no extra turn of the event loop. A key is forgotten as soon as its
 * last task settles, so memory is bounded by the keys with work in flight.
 */
export class KeyedQueue {
  // per key, a promise that settles (never rejects) once the key's last task has settled
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Runs `task` now when nothing of `key` is pending, else once the pending tasks of `key` have settled (whether
   * they succeeded or failed). Returns what the task returns, or a promise of it when the task had to wait.
   * A synchronous throw of a task that ran at once is thrown to the caller.
   */
  run<T>(key: string, task: () => T | PromiseLike<T>): T | Promise<T> {
    const pending = this.tails.get(key);
    if (pending === undefined) {
      const value = task();
      return isThenable(value) ? this.hold(key, value) : value;
    }
    return this.hold(key, pending.then(task));
  }

  /**
   * Whether nothing of `key` is pending: a caller on a hot path may then run its task itself, without a closure
   * for run(), and pass a promise it returns to hold().
   */
  idle(key: string): boolean {
    return !this.tails.has(key);
  }

  /** Makes the next task of `key` wait until `work` has settled; returns `work` as a promise. */
  hold<T>(key: string, work: PromiseLike<T>): Promise<T> {
    const result = work instanceof Promise ? (work as Promise<T>) : Promise.resolve(work);
    const tail: Promise<void> = result.then(
      () => this.release(key, tail),
      () => this.release(key, tail),
    );
    this.tails.set(key, tail);
    return result;
  }

  private release(key: string, tail: Promise<void>): void {
    if (this.tails.get(key) === tail) this.tails.delete(key);
  }

  /** How many keys have a task in flight. */
  get size(): number {
    return this.tails.size;
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<T>).then === 'function';
}
