import assert from 'assert';
import { fork, type ChildProcess } from 'child_process';
import path from 'path';
import { openRegistry } from '../../lib/registry';
import { PrivateRedis, redisServerInstalled } from './redis-server';
import type { WorkerCommand, WorkerEvent } from './redis-worker';

type Snapshot = Extract<WorkerEvent, { event: 'snapshot' }>['devices'];
type Stopped = Extract<WorkerEvent, { event: 'stopped' }>;

/** A registry in its own Node process (redis-worker.ts), as a second Node-RED instance would hold one. */
class Instance {
  acked = 0;
  readonly warnings: string[] = [];
  private readonly waiters: Array<{ match: (e: WorkerEvent) => boolean; resolve: (e: WorkerEvent) => void }> = [];

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (event: WorkerEvent) => {
      if (event.event === 'acked') this.acked = event.count;
      if (event.event === 'warn') this.warnings.push(event.message);
      for (const waiter of [...this.waiters]) {
        if (!waiter.match(event)) continue;
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    });
  }

  static start(url: string, namespace: string): Instance {
    const worker = path.join(__dirname, 'redis-worker.ts');
    return new Instance(fork(worker, [url, namespace], { execArgv: ['--require', 'tsx/cjs'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  /** The next event that matches; ask before causing it. */
  next(match: (e: WorkerEvent) => boolean): Promise<WorkerEvent> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Sends a command and resolves with the first event of `kind` after it. */
  async ask<K extends WorkerEvent['event']>(command: WorkerCommand, kind: K): Promise<Extract<WorkerEvent, { event: K }>> {
    const answer = this.next((e) => e.event === kind);
    this.child.send(command);
    return (await answer) as Extract<WorkerEvent, { event: K }>;
  }

  ackedAtLeast(count: number): Promise<unknown> {
    return this.acked >= count ? Promise.resolve() : this.next((e) => e.event === 'acked' && e.count >= count);
  }

  store(state: string): Promise<unknown> {
    return this.next((e) => e.event === 'store' && e.state === state);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.disconnect();
    });
  }
}

// With an append-only file Redis comes back with its data; without persistence it comes back empty, and the
// instances put back what they hold.
for (const persistent of [true, false]) {
  describe(`two registry processes on one Redis that is killed and restarted mid-run (${persistent ? 'append-only file' : 'no persistence'})`, function () {
    this.timeout(60_000);
    let redis: PrivateRedis;
    const instances: Instance[] = [];

    before(async function () {
      if (!redisServerInstalled()) this.skip();
      redis = await PrivateRedis.create({ persistent });
    });
    after(async () => {
      await Promise.all(instances.splice(0).map((i) => i.stop()));
      await redis?.stop();
    });

    it('converge on the same devices, lose nothing acknowledged, and never overwrite a newer record', async () => {
      const namespace = 'fleet';
      const [a, b] = [Instance.start(redis.url(), namespace), Instance.start(redis.url(), namespace)] as [Instance, Instance];
      instances.push(a, b);
      await Promise.all([a.next((e) => e.event === 'loaded'), b.next((e) => e.event === 'loaded')]);

      const shared = ['s-0', 's-1', 's-2'];
      const own = { a: ['a-0', 'a-1'], b: ['b-0', 'b-1'] };
      for (const id of [...shared, ...own.a]) await a.ask({ cmd: 'register', id }, 'done');
      for (const id of own.b) await b.ask({ cmd: 'register', id }, 'done');
      for (const id of [...shared, ...own.a]) await b.ask({ cmd: 'waitFor', id }, 'done');
      for (const id of own.b) await a.ask({ cmd: 'waitFor', id }, 'done');

      // Both write all the time: their own devices, and the shared ones (each its own attribute).
      const stoppedA = a.next((e) => e.event === 'stopped') as Promise<Stopped>;
      const stoppedB = b.next((e) => e.event === 'stopped') as Promise<Stopped>;
      a.ask({ cmd: 'run', writer: 'a', own: own.a, shared }, 'acked').catch(() => undefined);
      b.ask({ cmd: 'run', writer: 'b', own: own.b, shared }, 'acked').catch(() => undefined);
      await Promise.all([a.ackedAtLeast(20), b.ackedAtLeast(20)]);

      // kill -9 mid-run: both notice, and their writes are refused promptly (not queued) while it is down.
      const down = [a.store('waiting'), b.store('waiting')];
      const refused = [a, b].map((i) => i.next((e) => e.event === 'refused' && e.code === 'STORE_UNAVAILABLE'));
      await redis.kill();
      await Promise.all([...down, ...refused]);

      const up = [a.store('connected'), b.store('connected')];
      await redis.start();
      await Promise.all(up);
      await Promise.all([a.ackedAtLeast(a.acked + 20), b.ackedAtLeast(b.acked + 20)]);

      a.ask({ cmd: 'stop' }, 'stopped').catch(() => undefined);
      b.ask({ cmd: 'stop' }, 'stopped').catch(() => undefined);
      const stats = { a: await stoppedA, b: await stoppedB };
      if (!persistent) {
        for (const instance of [a, b])
          assert.ok(
            instance.warnings.some((w) => w.includes('Redis lost the registry')),
            'each instance noticed and restored',
          );
      }

      // Barriers: once each has seen the other's last registration, it has seen everything before it.
      await a.ask({ cmd: 'register', id: 'barrier-a' }, 'done');
      await b.ask({ cmd: 'waitFor', id: 'barrier-a' }, 'done');
      await b.ask({ cmd: 'register', id: 'barrier-b' }, 'done');
      await a.ask({ cmd: 'waitFor', id: 'barrier-b' }, 'done');

      const snapshotA = (await a.ask({ cmd: 'snapshot' }, 'snapshot')).devices;
      const snapshotB = (await b.ask({ cmd: 'snapshot' }, 'snapshot')).devices;
      const fresh = await openRegistry({ name: namespace, store: { kind: 'redis', url: redis.url() } });
      const stored: Snapshot = fresh
        .snapshot()
        .devices.map((d) => ({ id: d.id, rev: d.rev ?? 0, attributes: { ...d.attributes } }))
        .sort((x, y) => x.id.localeCompare(y.id));
      await fresh.close();
      assert.deepStrictEqual(snapshotA, stored, 'a holds what Redis holds');
      assert.deepStrictEqual(snapshotB, stored, 'b holds what Redis holds');

      const byId = new Map(stored.map((d) => [d.id, d]));
      for (const [writer, stat] of Object.entries(stats)) {
        assert.ok(stat.registered.length > 0, `${writer} registered devices during the run`);
        for (const [id, value] of Object.entries(stat.acked)) {
          const kept = byId.get(id)?.attributes[writer];
          assert.ok(typeof kept === 'number', `${id} (acknowledged to ${writer}) is stored`);
          // Never below what was acknowledged (no loss, no stale overwrite); above only by a write whose reply was lost.
          assert.ok(kept >= value && kept <= (stat.attempted[id] ?? value), `${id}.${writer}: stored ${kept}, acknowledged ${value}`);
        }
      }
    });
  });
}
