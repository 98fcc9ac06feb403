// A real Node-RED runtime in a child process (node-red-child.ts) with the pack installed in its user directory,
// for tests that need more than node-red-node-test-helper gives: two runtimes side by side, kill -9, restarts.
// Needs the build (dist/), which `npm test` makes first.
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { freePort } from './services';

const ROOT = path.join(__dirname, '../..');

export interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

export class NodeRedProcess {
  private readonly output: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly userDir: string,
  ) {
    const keep = (chunk: Buffer): void => void this.output.push(chunk.toString());
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Starts Node-RED on a free port with these flows and (plain) credentials, resolving once it runs them. */
  static async start(flows: FlowNode[], credentials: Record<string, Record<string, string>> = {}): Promise<NodeRedProcess> {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'nodes'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-nr-'));
    const scope = path.join(userDir, 'node_modules', '@m2mflow');
    fs.mkdirSync(scope, { recursive: true });
    fs.symlinkSync(ROOT, path.join(scope, 'node-red-m2m'), 'dir');
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'm2m-test', private: true, dependencies: { '@m2mflow/node-red-m2m': '*' } }));
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
    fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(credentials));
    const port = await freePort();
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'node-red-child.ts')], {
      cwd: ROOT,
      env: { ...process.env, M2M_USER_DIR: userDir, M2M_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const instance = new NodeRedProcess(child, port, userDir);
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        if (!chunk.toString().includes('ready')) return;
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (): void => reject(new Error(`Node-RED exited before it was ready:\n${instance.log}`));
      child.stdout?.on('data', onData);
      child.once('exit', onExit);
    });
    return instance;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output.join('');
  }

  /** A JSON request to the runtime (admin API or an `http in` endpoint): the status and the parsed body. */
  async request(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.url}${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed };
  }

  /** A clean stop (SIGTERM: Node-RED closes its flows), then the user directory goes. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const forced = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(forced);
    }
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}
