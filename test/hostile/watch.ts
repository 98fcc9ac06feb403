// What every hostile case asserts besides its own outcome: the process neither exits nor sees an unhandled
// rejection or an uncaught exception, and Object.prototype is untouched.
import assert from 'assert';
import sinon from 'sinon';

export class CrashWatch {
  readonly problems: string[] = [];
  private exitStub?: sinon.SinonStub;
  private prototypeKeys: string[] = [];
  private readonly waiting = new Set<(problem: string) => void>();
  private readonly onRejection = (reason: unknown): void => this.record(`unhandled rejection: ${describe(reason)}`);
  private readonly onException = (err: unknown): void => this.record(`uncaught exception: ${describe(err)}`);

  private record(problem: string): void {
    this.problems.push(problem);
    for (const reject of this.waiting) reject(problem);
  }

  /** Settles as `promise` does, or rejects at the first problem (a request that would hang fails at once). */
  race<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onProblem = (problem: string): void => reject(new Error(problem));
      this.waiting.add(onProblem);
      promise.then(resolve, reject).finally(() => this.waiting.delete(onProblem));
    });
  }

  /** Call in a `before` hook. */
  install(): void {
    process.on('unhandledRejection', this.onRejection);
    process.on('uncaughtException', this.onException);
    this.exitStub = sinon.stub(process, 'exit').callsFake(((code?: number) => {
      this.record(`process.exit(${String(code)})`);
    }) as never);
    this.prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
  }

  /** Call in an `after` hook. */
  remove(): void {
    process.off('unhandledRejection', this.onRejection);
    process.off('uncaughtException', this.onException);
    this.exitStub?.restore();
  }

  /** Fails with every problem seen so far, then starts afresh. */
  assertClean(): void {
    const seen = this.problems.splice(0);
    assert.deepStrictEqual(seen, [], 'the process stays up with no unhandled rejection or uncaught exception');
    assert.deepStrictEqual(Object.getOwnPropertyNames(Object.prototype).sort(), this.prototypeKeys, 'Object.prototype gained no property');
    for (const key of ['polluted', 'isAdmin', 'x']) assert.strictEqual(({} as Record<string, unknown>)[key], undefined, `Object.prototype.${key}`);
  }
}

function describe(reason: unknown): string {
  try {
    return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  } catch {
    return 'an unprintable value';
  }
}
