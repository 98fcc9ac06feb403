// One Node-RED runtime for one side of bench:e2e, in its own process (forked by run.ts from its compiled copy in
// bench/out/e2e-build, beside the pack compiled as npm run build does): the flow comes from BENCH_FLOW_FILE. It tells its parent 'ready'
// once the flow's broker connection is up, and stops cleanly on 'stop' (so that --cpu-prof writes its profile).
import fs from 'fs';
import http from 'http';
import os from 'os';
import path from 'path';
import { BROKER_ID } from './flows';

const ROOT = path.join(__dirname, '../..');
/** Where the compiled pack is: beside this file, or an earlier commit's build (the `before` side). */
const PACK_ROOT = process.env.BENCH_PACK_ROOT ?? ROOT;
const PACK_NODES = ['m2m-registry', 'm2m-device', 'm2m-telemetry', 'm2m-rule'];

interface NodeRedRuntime {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): { connected?: boolean } | null };
}

/** A nodes directory whose files load the pack's compiled nodes and the bench's own nodes. */
function nodesDir(userDir: string): string {
  const dir = path.join(userDir, 'nodes');
  fs.mkdirSync(dir, { recursive: true });
  const entries: Array<[string, string]> = [
    ...PACK_NODES.map((type): [string, string] => [type, path.join(PACK_ROOT, 'nodes', type, type)]),
    ['bench-nodes', path.join(__dirname, 'bare-nodes')],
  ];
  for (const [name, source] of entries) {
    fs.writeFileSync(path.join(dir, `${name}.js`), `module.exports = require(${JSON.stringify(source)});\n`);
    fs.writeFileSync(path.join(dir, `${name}.html`), '');
  }
  return dir;
}

async function main(): Promise<void> {
  const flowFile = process.env.BENCH_FLOW_FILE;
  if (!flowFile) throw new Error('BENCH_FLOW_FILE is not set');
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-bench-e2e-'));
  fs.copyFileSync(flowFile, path.join(userDir, 'flows.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red') as NodeRedRuntime;
  RED.init(http.createServer(), {
    userDir,
    flowFile: 'flows.json',
    nodesDir: nodesDir(userDir),
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    credentialSecret: false,
    externalModules: { autoInstall: false },
    functionGlobalContext: {},
    logging: { console: { level: 'warn', metrics: false, audit: false } },
  });
  await RED.start();
  const deadline = Date.now() + 20_000;
  while (!RED.nodes.getNode(BROKER_ID)?.connected) {
    if (Date.now() > deadline) throw new Error('the flow did not connect to the broker in 20 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.send?.('ready');
  process.on('message', (message) => {
    if (message !== 'stop') return;
    void RED.stop()
      .catch(() => undefined)
      .finally(() => {
        fs.rmSync(userDir, { recursive: true, force: true });
        process.exit(0);
      });
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(`bench child failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
