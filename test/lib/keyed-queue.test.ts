import assert from 'assert';
import { KeyedQueue } from '../../lib/keyed-queue';

/** A promise with its resolve and reject at hand, so a test decides when a task finishes. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('KeyedQueue', () => {
  it('runs a task of an idle key at once and hands back its plain value, keeping nothing', () => {
    const queue = new KeyedQueue();
    assert.strictEqual(
      queue.run('a', () => 42),
      42,
    );
    assert.strictEqual(queue.size, 0);
    assert.throws(
      () =>
        queue.run('a', () => {
          throw new Error('bad sample');
        }),
      /bad sample/,
    );
    assert.strictEqual(queue.size, 0);
  });

  it('finishes the tasks of one key in the order they were given, even when a later one is quicker', async () => {
    const queue = new KeyedQueue();
    const finished: string[] = [];
    const slow = deferred();
    const first = queue.run('dev-1', async () => {
      await slow.promise;
      finished.push('first');
    });
    const second = queue.run('dev-1', () => {
      finished.push('second');
    });
    await flush();
    assert.deepStrictEqual(finished, [], 'the quick one waits for the slow one');
    slow.resolve();
    await Promise.all([first, second]);
    assert.deepStrictEqual(finished, ['first', 'second']);
  });

  it('does not hold back other keys', async () => {
    const queue = new KeyedQueue();
    const slow = deferred();
    void queue.run('dev-1', () => slow.promise);
    assert.strictEqual(
      queue.run('dev-2', () => 'now'),
      'now',
      'another key runs at once',
    );
    slow.resolve();
    await flush();
  });

  it('runs the next task of a key after a failed one, and the failure goes to its own caller', async () => {
    const queue = new KeyedQueue();
    const failing = deferred();
    const first = queue.run('dev-1', () => failing.promise);
    const second = queue.run('dev-1', () => 'after');
    failing.reject(new Error('store full'));
    await assert.rejects(first as Promise<void>, /store full/);
    assert.strictEqual(await second, 'after');
  });

  it('forgets a key once its last task has settled, so memory follows the keys in flight', async () => {
    const queue = new KeyedQueue();
    const gates = Array.from({ length: 1000 }, () => deferred());
    gates.forEach((gate, i) => void queue.run(`dev-${i}`, () => gate.promise));
    void queue.run('dev-0', () => undefined);
    assert.strictEqual(queue.size, 1000);
    for (const gate of gates) gate.resolve();
    await flush();
    assert.strictEqual(queue.size, 0);
  });

  it("lets a caller run a task of an idle key itself and hold the key until its promise settles (the adapter's path)", async () => {
    const queue = new KeyedQueue();
    const finished: string[] = [];
    assert.strictEqual(queue.idle('dev-1'), true);
    const slow = deferred();
    const first = queue.hold(
      'dev-1',
      slow.promise.then(() => void finished.push('first')),
    );
    assert.strictEqual(queue.idle('dev-1'), false);
    const second = queue.run('dev-1', () => void finished.push('second'));
    await flush();
    assert.deepStrictEqual(finished, [], 'a task of a held key waits');
    slow.reject(new Error('failed'));
    await assert.rejects(first, /failed/);
    await second;
    assert.deepStrictEqual(finished, ['second'], 'a failed held task lets the next one run');
    await flush();
    assert.strictEqual(queue.idle('dev-1'), true);
    assert.strictEqual(queue.size, 0);
  });
});
