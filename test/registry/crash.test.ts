import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { openRegistry } from '../../lib/registry';
import { runAndKill } from '../helpers/kill-child';

const KILLS = 20;

/** Runs the writer until it has acknowledged some work, kills it with SIGKILL at a random moment, returns what it acked. */
async function runAndKillWriter(dir: string, prefix: string): Promise<{ acked: string[]; updated: string[] }> {
  const lines = await runAndKill(path.join(__dirname, 'fixtures', 'crash-writer.ts'), [dir, prefix], { minMs: 50, maxMs: 750 });
  return {
    acked: lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4)),
    updated: lines.filter((l) => l.startsWith('upd ')).map((l) => l.slice(4)),
  };
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
        const { acked, updated } = await runAndKillWriter(dir, `r${round}`);
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
