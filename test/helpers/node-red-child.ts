// A Node-RED runtime in its own process, as a user runs it: the pack loaded from the user directory's
// node_modules (a link to this checkout's build), the flows and credentials written there by the parent
// (node-red-process.ts). Prints "ready" once the admin and node HTTP servers listen and the flows run.
import http from 'http';
import type { ExpressApp, NodeRedRuntime } from '../../scripts/node-red-runtime';

async function main(): Promise<void> {
  const userDir = process.env.M2M_USER_DIR as string;
  const port = Number(process.env.M2M_PORT);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require(process.env.M2M_NODE_RED ?? 'node-red') as NodeRedRuntime;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const app = (require('express') as () => ExpressApp)();
  const server = http.createServer(app);
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    uiPort: port,
    logging: { console: { level: process.env.M2M_LOG_LEVEL ?? 'warn', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
  });
  app.use('/', RED.httpAdmin);
  app.use('/', RED.httpNode);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  // RED.start() resolves before the flows run; a test's first request must find their http in routes
  const flowsStarted = new Promise<void>((resolve) => RED.events.once('flows:started', () => resolve()));
  await RED.start();
  await flowsStarted;
  process.stdout.write('ready\n');
  const stop = (): void => {
    void RED.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(`node-red-child: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
