import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { openRegistry } from '../../lib/registry';
import { runAndKill } from '../helpers/kill-child';
/** As many devices as the writer marks in turn. */
const DEVICES = 100;

const KILLS = 5;

/** Runs the writer until it has marked some devices, kills it with SIGKILL at a random moment, returns what it printed. */
function runAndKillWriter(dir: string): Promise<string[]> {
  return runAndKill(path.join(__dirname, 'fixtures', 'presence-writer.ts'), [dir], { minMs: 100, maxMs: 400 });
}

describe('presence marks in the file store under SIGKILL', function () {
  this.timeout(120_000);

  it(`every mark the operation answered for holds after ${KILLS} kills at random moments`, async () => {
    for (let round = 0; round < KILLS; round++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-presence-crash-'));
      try {
        const lines = await runAndKillWriter(dir);
        // the last answered mark of each device; the device after the last one printed may have been mid-mark
        const expected = new Map<number, boolean>();
        for (const line of lines.filter((l) => /^(offline|online) \d+$/.test(l))) {
          const [operation, index] = line.split(' ');
          expected.set(Number(index), operation === 'online');
        }
        assert.ok(expected.size > 0, `round ${round}: the writer marked nothing before the kill`);
        const lastIndex = Number(lines[lines.length - 1].split(' ')[1]);
        expected.delete((lastIndex + 1) % DEVICES);
        const registry = await openRegistry({ name: 'presence-crash', store: { kind: 'file', dir }, defaultOfflineTimeoutMs: 3_600_000 });
        try {
          const wrong = [...expected]
            .filter(([index, online]) => registry.isOnline(`dev-${index}`) !== online)
            .map(([index, online]) => `dev-${index} should be ${online ? 'online' : 'offline'}`);
          assert.deepStrictEqual(wrong, [], `round ${round}: ${lines.length} lines`);
        } finally {
          await registry.close();
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
