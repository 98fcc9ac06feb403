import assert from 'assert';
import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { openRegistry } from '../../lib/registry';
/** As many devices as the writer marks in turn. */
const DEVICES = 100;

const KILLS = 5;

/** Runs the writer until it has marked some devices, kills it with SIGKILL at a random moment, returns what it printed. */
function runAndKill(dir: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'fixtures', 'presence-writer.ts'), dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!killTimer && out.includes('ready\n')) killTimer = setTimeout(() => child.kill('SIGKILL'), 100 + Math.floor(Math.random() * 300));
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself: ${err}`));
      resolve(out.split('\n').slice(0, -1)); // the last piece may be a line cut by the kill
    });
  });
}

describe('presence marks in the file store under SIGKILL', function () {
  this.timeout(120_000);

  it(`every mark the operation answered for holds after ${KILLS} kills at random moments`, async () => {
    for (let round = 0; round < KILLS; round++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-presence-crash-'));
      try {
        const lines = await runAndKill(dir);
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
