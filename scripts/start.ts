// `npm start`: a demo Node-RED 4 with this pack loaded from the working tree, an MQTT broker, and the
// example flows deployed. Every start points the demo flows at this start's broker and editor port. Ctrl-C stops
// everything.
import fs from 'fs';
import http from 'http';
import net from 'net';
import path from 'path';
import type { ExpressApp, NodeRedRuntime } from './node-red-runtime';

const ROOT = path.join(__dirname, '..');
const USER_DIR = process.env.M2M_USER_DIR ? path.resolve(process.env.M2M_USER_DIR) : path.join(ROOT, '.node-red-user');
const HOST = '127.0.0.1';
const EDITOR_PORT = Number(process.env.M2M_EDITOR_PORT ?? 1880);
const BROKER_PORT = Number(process.env.M2M_BROKER_PORT ?? 1883);
/** Deployed on first start, in this order, each on its own tab (those that exist). */
const DEMO_FLOWS = ['plant-monitoring.json', 'device-registry.json', 'operator-console.json'];
/** Node packs among the devDependencies that the demo flows use (the operator console's Dashboard 2.0). */
const DEMO_NODE_PACKS = ['@flowfuse/node-red-dashboard'];
/**
 * Webhook URL expressions of earlier releases that named the editor port 1880 outright; a demo node still holding
 * one gets the example's, which follows M2M_EDITOR_PORT. A URL the user wrote is kept.
 */
const SHIPPED_WEBHOOK_URLS = ['$env("M2M_WEBHOOK_URL") ? $env("M2M_WEBHOOK_URL") : "http://127.0.0.1:1880/webhook-demo"'];

interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
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

/** The broker this start uses. aedes (embedded) speaks MQTT 3.1.1 only. */
export interface DemoBroker {
  port: number;
  mqtt311Only: boolean;
}

function exampleNodes(): FlowNode[] {
  // the operator console carries the plant's broker and registry config nodes too, to import on its own: once here
  const seen = new Set<string>();
  return DEMO_FLOWS.map((file) => path.join(ROOT, 'examples', file))
    .filter((full) => fs.existsSync(full))
    .flatMap((full) => JSON.parse(fs.readFileSync(full, 'utf8')) as FlowNode[])
    .filter((node) => !seen.has(node.id) && seen.add(node.id));
}

/** Installs the demo's node packs from this project's devDependencies into the user directory, as links. */
function linkDemoNodePacks(): string[] {
  const linked: string[] = [];
  for (const name of DEMO_NODE_PACKS) {
    const target = path.join(ROOT, 'node_modules', name);
    if (!fs.existsSync(path.join(target, 'package.json'))) continue;
    const link = path.join(USER_DIR, 'node_modules', name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(target, link, 'dir');
    linked.push(name);
  }
  return linked;
}

/**
 * An example's MQTT broker config pointed at the demo broker. On aedes the connection is MQTT 3.1.1 and the
 * examples still work (replies are matched by the id in the payload); elsewhere it is the example's own protocol.
 */
function pointedAt(broker: DemoBroker, node: FlowNode, example: FlowNode): FlowNode {
  return { ...node, broker: HOST, port: String(broker.port), protocolVersion: broker.mqtt311Only ? '4' : example.protocolVersion };
}

/** The demo flows of a first start: each example on its own tab, its broker config pointed at the demo broker. */
export function demoFlows(broker: DemoBroker): FlowNode[] {
  return exampleNodes().map((node) => (node.type === 'mqtt-broker' ? pointedAt(broker, node, node) : node));
}

/**
 * The flows of an earlier start brought in step with this one: the demo's broker config nodes (known by their
 * ids in the examples) point at this start's broker, and a webhook URL of an earlier release becomes the
 * example's. Every other node and setting, the user's own flows included, stays as it is. Returns the ids changed.
 */
export function syncDemoFlows(flows: FlowNode[], broker: DemoBroker): { flows: FlowNode[]; changed: string[] } {
  const examples = new Map(exampleNodes().map((node) => [node.id, node]));
  const changed: string[] = [];
  const synced = flows.map((node) => {
    const example = examples.get(node.id);
    if (!example || example.type !== node.type) return node;
    let next = node;
    if (node.type === 'mqtt-broker') next = pointedAt(broker, node, example);
    else if (node.type === 'change' && Array.isArray(node.rules))
      next = { ...node, rules: node.rules.map((rule: unknown) => withShippedWebhookUrl(rule, example)) };
    if (JSON.stringify(next) !== JSON.stringify(node)) changed.push(node.id);
    return next;
  });
  return { flows: synced, changed };
}

function withShippedWebhookUrl(rule: unknown, example: FlowNode): unknown {
  const current = rule as { p?: unknown; to?: unknown };
  if (current.p !== 'url' || !SHIPPED_WEBHOOK_URLS.includes(current.to as string)) return rule;
  const shipped = (example.rules as Array<{ p?: unknown; to?: unknown }>).find((r) => r.p === 'url');
  return shipped ? { ...current, to: shipped.to } : rule;
}

/** Writes the demo flows on the first start, and keeps them in step with the broker on every later one. */
function prepareFlows(flowFile: string, broker: DemoBroker): void {
  const where = `${HOST}:${broker.port}${broker.mqtt311Only ? ' (MQTT 3.1.1)' : ''}`;
  if (!fs.existsSync(flowFile)) {
    fs.writeFileSync(flowFile, JSON.stringify(demoFlows(broker), null, 2));
    console.log(`Deployed the example flows on the broker at ${where} (delete ${path.relative(process.cwd(), flowFile)} to get them back after changes).`);
    return;
  }
  let flows: unknown;
  try {
    flows = JSON.parse(fs.readFileSync(flowFile, 'utf8'));
  } catch (err) {
    console.warn(`${flowFile} could not be read (${err instanceof Error ? err.message : String(err)}); the demo flows are not updated.`);
    return;
  }
  if (!Array.isArray(flows)) return;
  const { flows: synced, changed } = syncDemoFlows(flows as FlowNode[], broker);
  if (changed.length === 0) return;
  fs.writeFileSync(flowFile, JSON.stringify(synced, null, 2));
  console.log(`Brought the demo flows in step with this start (broker ${where}): ${changed.join(', ')}.`);
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'nodes'))) throw new Error('dist/ is missing: run `npm run build` first');
  fs.mkdirSync(USER_DIR, { recursive: true });
  linkPackage();
  const packs = linkDemoNodePacks();
  const stopBroker = await startBroker();
  prepareFlows(path.join(USER_DIR, 'flows.json'), { port: BROKER_PORT, mqtt311Only: stopBroker !== undefined });
  // the demo's webhook URL names the editor port through this variable
  process.env.M2M_EDITOR_PORT = String(EDITOR_PORT);

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
  const dashboard = packs.includes('@flowfuse/node-red-dashboard')
    ? `Operator dashboard: http://${HOST}:${EDITOR_PORT}/dashboard`
    : 'Operator dashboard: not available (@flowfuse/node-red-dashboard is not installed; npm install adds it)';
  console.log(`\nNode-RED editor: http://${HOST}:${EDITOR_PORT}/\n${dashboard}\nCtrl-C stops the demo.\n`);

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
