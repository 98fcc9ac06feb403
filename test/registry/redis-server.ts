// A private redis-server for fault tests (never the shared one on 6379): started on a free port, killed and
// restarted on the same port. Required when CI=true; elsewhere the suites skip when it is not installed.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { DeviceRegistry } from '../../lib/registry';
import type { TestNode } from '../helpers/node-red';
import type { StoreStatus } from '../../lib/registry/stores/types';
import { freePort, REQUIRE_SERVICES } from '../helpers/services';

export function redisServerInstalled(): boolean {
  const found = spawnSync('redis-server', ['--version']).status === 0;
  if (!found && REQUIRE_SERVICES) throw new Error('redis-server is required when CI=true but is not installed');
  return found;
}

export interface PrivateRedisOptions {
  password?: string;
  /** Keep data across a kill -9: an append-only file fsynced before every reply. */
  persistent?: boolean;
  /** Reserve the port but do not start yet (a registry that starts before Redis). */
  startLater?: boolean;
}

export class PrivateRedis {
  private process: ChildProcess | undefined;
  private readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly options: PrivateRedisOptions,
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-redis-'));
  }

  static async create(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort(), options);
    if (!options.startLater) await server.start();
    return server;
  }

  url(password = this.options.password): string {
    return password === undefined ? `redis://127.0.0.1:${this.port}` : `redis://:${password}@127.0.0.1:${this.port}`;
  }

  /** Starts the server and resolves once it accepts connections (its own log line, not a sleep). */
  start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir];
    args.push(...(this.options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
    if (this.options.password !== undefined) args.push('--requirepass', this.options.password);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.process = child;
    return new Promise((resolve, reject) => {
      let log = '';
      const onData = (chunk: Buffer): void => {
        log += chunk.toString();
        if (!log.includes('Ready to accept connections')) return;
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve();
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${log}`)));
    });
  }

  /** kill -9, and resolve once the process is gone. */
  kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Resolves when the registry's store reaches `state` (at once if it is there already). */
export function storeState(registry: DeviceRegistry, state: StoreStatus['state']): Promise<void> {
  if (registry.storeState?.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const listener = (status: StoreStatus): void => {
      if (status.state !== state) return;
      registry.off('store', listener);
      resolve();
    };
    registry.on('store', listener);
  });
}

/** The arguments of every call of a node method so far (the test helper's spies record them as they are made). */
export function spiedCalls(node: TestNode, method: 'status' | 'warn' | 'error' | 'log'): unknown[][] {
  const spy = node[method] as { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> };
  return spy
    .getCalls()
    .filter((call) => call.thisValue === node)
    .map((call) => call.args);
}
