import assert from 'assert';
import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { openRegistry } from '../../lib/registry';

const KILLS = 20;

/** Runs the writer until it has acknowledged some work, kills it with SIGKILL at a random moment, returns what it acked. */
function runAndKill(dir: string, prefix: string): Promise<{ acked: string[]; updated: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'fixtures', 'crash-writer.ts'), dir, prefix], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!killTimer && out.includes('ready\n')) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), 50 + Math.floor(Math.random() * 700));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself: ${err}`));
      const lines = out.split('\n').slice(0, -1); // the last piece may be a line cut by the kill
      resolve({
        acked: lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4)),
        updated: lines.filter((l) => l.startsWith('upd ')).map((l) => l.slice(4)),
      });
    });
  });
}

describe('file store under SIGKILL', function () {
  this.timeout(180_000);

  it(`keeps every acknowledged registration across ${KILLS} kills at random moments, and always opens`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-crash-'));
    const allAcked = new Set<string>();
    const allUpdated = new Set<string>();
    const warnings: string[] = [];
    try {
      for (let round = 0; round < KILLS; round++) {
        const { acked, updated } = await runAndKill(dir, `r${round}`);
        acked.forEach((id) => allAcked.add(id));
        updated.forEach((id) => allUpdated.add(id));
        const registry = await openRegistry({ name: 'crash', store: { kind: 'file', dir }, warn: (m) => warnings.push(m) });
        try {
          const missing = [...allAcked].filter((id) => !registry.has(id));
          assert.deepStrictEqual(missing, [], `round ${round}: acknowledged registrations missing after the kill`);
          const lostUpdates = [...allUpdated].filter((id) => !registry.get(id)?.tags.includes('updated'));
          assert.deepStrictEqual(lostUpdates, [], `round ${round}: acknowledged updates missing`);
          // A kill may tear the last write; it must never damage anything else (a compaction included).
          const damage = warnings.filter((w) => !/^journal\.log: skipped 1 unreadable record: .*a torn last record/.test(w));
          assert.deepStrictEqual(damage, [], `round ${round}: a kill left more than a torn last record`);
        } finally {
          await registry.close();
        }
      }
      assert.ok(allAcked.size > KILLS * 10, `the writer got work done before being killed (${allAcked.size} acks)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skips a torn last record with a warning instead of failing to open', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-torn-'));
    try {
      const registry = await openRegistry({ name: 'torn', store: { kind: 'file', dir } });
      await registry.register({ id: 'whole' });
      await registry.close();
      fs.appendFileSync(path.join(dir, 'journal.log'), '{"o":"p","d":{"id":"torn","na');
      const warnings: string[] = [];
      const reopened = await openRegistry({ name: 'torn', store: { kind: 'file', dir }, warn: (m) => warnings.push(m) });
      assert.ok(reopened.has('whole'));
      assert.ok(!reopened.has('torn'));
      assert.match(warnings.join('\n'), /torn last record/);
      await reopened.register({ id: 'after' });
      await reopened.close();
      const third = await openRegistry({ name: 'torn', store: { kind: 'file', dir } });
      assert.ok(third.has('after'), 'writes after the cut are readable');
      await third.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
