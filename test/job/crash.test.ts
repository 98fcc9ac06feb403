import assert from 'assert';
import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

interface Run {
  recv: Array<{ deviceId: string; commandId: string }>;
  ok: string[];
  done?: Record<string, number>;
  killed: boolean;
  /** In cut mode: the command whose success m2m-command stored and the job never heard of before the kill. */
  cut?: { deviceId: string; commandId: string };
}

/**
 * Runs the job's child process; with `killAfterOk`, kills it with SIGKILL a random moment after that many stored
 * successes; with `cutAt`, the child kills itself right after m2m-command stored that many successes (see the fixture).
 */
function run(dir: string, killAfterOk?: number, cutAt?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'fixtures', 'crash-job.ts'), dir, String(cutAt ?? 0)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (killAfterOk !== undefined && !killTimer && out.split('\nok ').length - 1 >= killAfterOk) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 400));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) return reject(new Error(`the job process failed (${code}): ${err}`));
      const lines = out.split('\n').slice(0, -1); // the last piece may be a line cut by the kill
      const done = lines.find((l) => l.startsWith('done '));
      const cut = lines.find((l) => l.startsWith('cut '))?.split(' ');
      resolve({
        recv: lines.filter((l) => l.startsWith('recv ')).map((l) => ({ deviceId: l.split(' ')[1], commandId: l.split(' ')[2] })),
        ok: lines.filter((l) => l.startsWith('ok ')).map((l) => l.slice(3)),
        done: done ? (JSON.parse(done.slice(5)) as Record<string, number>) : undefined,
        killed: signal === 'SIGKILL',
        cut: cut && { deviceId: cut[1], commandId: cut[2] },
      });
    });
  });
}

describe('m2m-job under kill -9, with a file registry', function () {
  this.timeout(120_000);

  it('after each restart no device that succeeded gets the command again, and the job completes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-job-crash-'));
    try {
      const succeeded = new Set<string>();
      const rounds: Run[] = [];
      for (const killAfter of [20, 60, 60]) {
        const round = await run(dir, killAfter);
        assert.ok(round.killed, 'killed mid-job');
        const again = round.recv.filter((r) => succeeded.has(r.deviceId));
        assert.deepStrictEqual(again, [], `round ${rounds.length}: devices that had succeeded got the command again`);
        round.ok.forEach((id) => succeeded.add(id));
        rounds.push(round);
      }
      const last = await run(dir);
      assert.deepStrictEqual(
        last.recv.filter((r) => succeeded.has(r.deviceId)),
        [],
        'the last round sent nothing to devices that had succeeded',
      );
      assert.ok(last.done, 'the job completed');
      assert.strictEqual(last.done.succeeded, 300);
      assert.strictEqual(last.done['in-progress'] + last.done.queued + last.done.failed + last.done['timed-out'], 0);
      assert.ok(succeeded.size >= 60, `the killed rounds got work done (${succeeded.size} successes stored)`);
      // a command in flight at a kill is resumed by the tracker with its id, or retried by the job with a new one
      const all = [...rounds, last].flatMap((r) => r.recv);
      assert.ok(new Set(all.map((r) => r.deviceId)).size === 300);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a command that ended just before the kill, its outcome not yet stored by the job, is resolved by that outcome: no device gets the command twice', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-job-cut-'));
    try {
      const first = await run(dir, undefined, 25);
      assert.ok(first.killed && first.cut, 'killed between the reply and the job storing it');
      assert.ok(!first.ok.includes(first.cut.deviceId), 'the job had not stored that success');
      const last = await run(dir);
      assert.ok(last.done, 'the job completed');
      assert.strictEqual(last.done.succeeded, 300);
      const received = new Map<string, string[]>();
      for (const r of [...first.recv, ...last.recv]) received.set(r.deviceId, [...(received.get(r.deviceId) ?? []), r.commandId]);
      assert.deepStrictEqual(received.get(first.cut.deviceId), [first.cut.commandId], 'the device whose success was cut got its command once');
      const twice = [...received].filter(([, ids]) => ids.length > 1);
      assert.deepStrictEqual(twice, [], 'no device received the command twice');
      assert.strictEqual(received.size, 300);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
