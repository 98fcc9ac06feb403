// `npm start`: a demo Node-RED 4 with this pack loaded from the working tree, an MQTT broker, and the
// example flows deployed. Ctrl-C stops everything.
import fs from 'fs';
import http from 'http';
import net from 'net';
import path from 'path';

const ROOT = path.join(__dirname, '..');
const USER_DIR = path.join(ROOT, '.node-red-user');
const HOST = '127.0.0.1';
const EDITOR_PORT = Number(process.env.M2M_EDITOR_PORT ?? 1880);
const BROKER_PORT = Number(process.env.M2M_BROKER_PORT ?? 1883);
/** Deployed on first start, in this order, each on its own tab (those that exist). */
const DEMO_FLOWS = ['plant-monitoring.json', 'device-registry.json'];

interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

/** The part of express used here (node-red brings express; its types are not installed). */
type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse, next?: () => void) => void;
interface ExpressApp extends RequestHandler {
  use(path: string, handler: RequestHandler): void;
}

interface NodeRedRuntime {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAdmin: RequestHandler;
  httpNode: RequestHandler;
}

/** Whether something on the port speaks MQTT: it answers a CONNECT with a CONNACK. */
function mqttBrokerAt(port: number): Promise<'mqtt' | 'other' | 'free'> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: HOST });
    const finish = (result: 'mqtt' | 'other' | 'free'): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(1000, () => finish('other'));
    socket.once('error', () => finish('free'));
    socket.once('connect', () => {
      const clientId = Buffer.from('m2m-probe');
      // CONNECT, MQTT 3.1.1, clean session, keepalive 10 s.
      const body = Buffer.concat([Buffer.from([0, 4, 77, 81, 84, 84, 4, 2, 0, 10, 0, clientId.length]), clientId]);
      socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    });
    socket.once('data', (data) => finish(data[0] === 0x20 ? 'mqtt' : 'other'));
  });
}

async function startBroker(): Promise<(() => Promise<void>) | undefined> {
  const found = await mqttBrokerAt(BROKER_PORT);
  if (found === 'mqtt') {
    console.log(`MQTT broker: one is already running on ${HOST}:${BROKER_PORT}; the demo uses it.`);
    return undefined;
  }
  if (found === 'other') throw new Error(`port ${BROKER_PORT} is taken by something that is not an MQTT broker; set M2M_BROKER_PORT`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createBroker } = require('aedes') as typeof import('aedes');
  const broker = createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(BROKER_PORT, HOST, resolve);
  });
  console.log(`MQTT broker: embedded aedes on mqtt://${HOST}:${BROKER_PORT}`);
  return () => new Promise<void>((resolve) => broker.close(() => server.close(() => resolve())));
}

/** Makes Node-RED load this package from the working tree, as if it were installed in the user directory. */
function linkPackage(): void {
  const scope = path.join(USER_DIR, 'node_modules', '@m2mflow');
  fs.mkdirSync(scope, { recursive: true });
  const link = path.join(scope, 'node-red-m2m');
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(ROOT, link, 'dir');
  const pkg = path.join(USER_DIR, 'package.json');
  if (!fs.existsSync(pkg)) {
    fs.writeFileSync(pkg, JSON.stringify({ name: 'm2m-demo', private: true, dependencies: { '@m2mflow/node-red-m2m': '*' } }, null, 2));
  }
}

/**
 * The demo flows: each example on its own tab, its MQTT broker config pointed at the demo broker. aedes speaks
 * MQTT 3.1.1 only; the examples work on it too (replies are matched by the id in the payload).
 */
export function demoFlows(brokerPort: number, mqtt311Only: boolean): FlowNode[] {
  const flows: FlowNode[] = [];
  for (const file of DEMO_FLOWS) {
    const full = path.join(ROOT, 'examples', file);
    if (!fs.existsSync(full)) continue;
    for (const node of JSON.parse(fs.readFileSync(full, 'utf8')) as FlowNode[]) {
      if (node.type === 'mqtt-broker') {
        Object.assign(node, { broker: HOST, port: String(brokerPort) }, mqtt311Only ? { protocolVersion: '4' } : {});
      }
      flows.push(node);
    }
  }
  return flows;
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'nodes'))) throw new Error('dist/ is missing: run `npm run build` first');
  fs.mkdirSync(USER_DIR, { recursive: true });
  linkPackage();
  const stopBroker = await startBroker();
  const flowFile = path.join(USER_DIR, 'flows.json');
  if (!fs.existsSync(flowFile)) {
    fs.writeFileSync(flowFile, JSON.stringify(demoFlows(BROKER_PORT, stopBroker !== undefined), null, 2));
    console.log('Deployed the example flows (delete .node-red-user/flows.json to get them back after changes).');
  }

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red') as NodeRedRuntime;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const app = (require('express') as () => ExpressApp)();
  const server = http.createServer(app);
  RED.init(server, {
    userDir: USER_DIR,
    flowFile: 'flows.json',
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    uiHost: HOST,
    uiPort: EDITOR_PORT,
    credentialSecret: 'm2m-demo-only',
    functionGlobalContext: {},
    logging: { console: { level: 'info', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
  });
  app.use('/', RED.httpAdmin);
  app.use('/', RED.httpNode);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(EDITOR_PORT, HOST, resolve);
  });
  await RED.start();
  console.log(`\nNode-RED editor: http://${HOST}:${EDITOR_PORT}/   Ctrl-C stops the demo.\n`);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    await RED.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await stopBroker?.();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
