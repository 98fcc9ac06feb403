// Crash tests: a child process (a TypeScript fixture) does durable work and prints a line for each piece it
// answered for; it is killed with SIGKILL at a random moment, and the test checks the store against those lines.
import { spawn } from 'child_process';

/**
 * Runs `script` with `args` until it prints "ready", kills it with SIGKILL `minMs` to `maxMs` later, and resolves
 * with the whole lines it printed (the last piece may be a line cut by the kill, so it is left out). Rejects when
 * the child exits by itself.
 */
export function runAndKill(script: string, args: string[], killAfter: { minMs: number; maxMs: number }): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!killTimer && out.includes('ready\n')) {
        const delay = killAfter.minMs + Math.floor(Math.random() * (killAfter.maxMs - killAfter.minMs));
        killTimer = setTimeout(() => child.kill('SIGKILL'), delay);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`${script} exited by itself: ${err}`));
      resolve(out.split('\n').slice(0, -1));
    });
  });
}
