// Starts the project's Node-RED 4.1 as a child process on a free port, with a throw-away user directory in
// which this package (the working tree, built to dist/) is installed as a symlink, the way npm installs it.
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { freePort } from '../../helpers/services';

export const PACKAGE_ROOT = path.join(__dirname, '..', '..', '..');

interface Manifest {
  name: string;
  devDependencies?: Record<string, string>;
  'node-red'?: { nodes?: Record<string, string> };
}

export function readManifest(dir: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
}

export interface RunningNodeRed {
  url: string;
  userDir: string;
  /** Every line the runtime logged so far. */
  log: string[];
  /** `[error]` lines logged after the given index into `log`. */
  errorsSince(mark: number): string[];
  stop(): Promise<void>;
}

/** Node packs among the devDependencies (e.g. node-red-node-mysql), which some examples use. */
function nodePackDevDependencies(manifest: Manifest): string[] {
  return Object.keys(manifest.devDependencies ?? {}).filter((name) => {
    if (name === 'node-red') return false;
    const dir = path.join(PACKAGE_ROOT, 'node_modules', name);
    return fs.existsSync(path.join(dir, 'package.json')) && readManifest(dir)['node-red']?.nodes !== undefined;
  });
}

function prepareUserDir(port: number): string {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-browser-'));
  const manifest = readManifest(PACKAGE_ROOT);
  const installed = [manifest.name, ...nodePackDevDependencies(manifest)];
  for (const name of installed) {
    const link = path.join(userDir, 'node_modules', name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    const target = name === manifest.name ? PACKAGE_ROOT : path.join(PACKAGE_ROOT, 'node_modules', name);
    fs.symlinkSync(target, link, 'dir');
  }
  const dependencies = Object.fromEntries(installed.map((name) => [name, '*']));
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'm2m-browser-test', private: true, dependencies }, null, 2));
  const settings = {
    uiHost: '127.0.0.1',
    uiPort: port,
    flowFile: 'flows.json',
    credentialSecret: 'browser-test',
    // No welcome tour or telemetry prompt covering the editor, and no fetch of the palette manager's online
    // catalogue, which fails offline and has nothing to do with this pack.
    editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
    telemetry: { enabled: false, updateNotification: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
  };
  fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
  return userDir;
}

function waitForStart(child: ChildProcess, log: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Node-RED did not start within ${timeoutMs} ms:\n${log.join('\n')}`)), timeoutMs);
    const onLine = (): void => {
      if (log.some((line) => line.includes('Server now running at'))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Node-RED exited with code ${code} before starting:\n${log.join('\n')}`));
    });
  });
}

export async function startNodeRed(): Promise<RunningNodeRed> {
  const port = await freePort();
  const userDir = prepareUserDir(port);
  const redJs = path.join(path.dirname(require.resolve('node-red/package.json')), 'red.js');
  const child = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
    cwd: userDir,
    env: { ...process.env, NODE_RED_ENABLE_PROJECTS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer): void => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    log.push(...lines);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForStart(child, log, 30000);
  } catch (err) {
    child.kill('SIGKILL');
    fs.rmSync(userDir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    userDir,
    log,
    errorsSince: (mark) => log.slice(mark).filter((line) => line.includes('[error]')),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}
