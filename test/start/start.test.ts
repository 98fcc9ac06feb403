// `npm start` as a new user meets it: started with M2M_EDITOR_PORT and M2M_BROKER_PORT, then again on another
// broker port, the plant demo works each time (digests reach the demo webhook, fan commands succeed), as the
// debug sidebar shows it; the user's own flows survive the restart.
import assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import WebSocket from 'ws';
import { demoFlows, syncDemoFlows } from '../../scripts/start';
import { freePort, reachable } from '../helpers/services';

const ROOT = path.join(__dirname, '../..');

interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

const USER_NODES: FlowNode[] = [
  { id: 'mine.tab', type: 'tab', label: 'My line' },
  { id: 'mine.inject', type: 'inject', z: 'mine.tab', name: 'my own inject', wires: [] },
];

const byId = (flows: FlowNode[], id: string): FlowNode => {
  const node = flows.find((n) => n.id === id);
  assert.ok(node, `${id} is in the flows`);
  return node;
};

describe('npm start keeps the demo flows in step with its broker and editor port', () => {
  it("a flows.json of an earlier start (embedded broker on another port) follows this start; the user's own nodes and edits stay", () => {
    const earlier = [...demoFlows({ port: 18883, mqtt311Only: true }), ...USER_NODES].map((n) =>
      n.id === 'plant.debug.alarms' ? { ...n, name: 'my alarm view' } : n,
    );
    const { flows, changed } = syncDemoFlows(earlier, { port: 1884, mqtt311Only: false });
    const broker = byId(flows, 'plant.broker');
    assert.deepStrictEqual([broker.broker, broker.port, broker.protocolVersion], ['127.0.0.1', '1884', '5'], "a real broker gets the example's MQTT 5 back");
    assert.strictEqual(byId(flows, 'm2m.ex.registry.broker').port, '1884');
    assert.deepStrictEqual(changed.sort(), ['m2m.ex.registry.broker', 'plant.broker']);
    assert.strictEqual(byId(flows, 'plant.debug.alarms').name, 'my alarm view');
    assert.deepStrictEqual(
      flows.filter((n) => n.id.startsWith('mine.')),
      USER_NODES,
    );
    assert.deepStrictEqual(syncDemoFlows(flows, { port: 1884, mqtt311Only: false }).changed, [], 'nothing to change on the next start');
  });

  it('the operator console is deployed beside the plant, sharing its broker and registry (each node once)', () => {
    const flows = demoFlows({ port: 1883, mqtt311Only: false });
    const ids = flows.map((n) => n.id);
    assert.deepStrictEqual(ids.length, new Set(ids).size, 'no node twice');
    assert.strictEqual(byId(flows, 'ops.alarms').type, 'ui-m2m-alarms');
    assert.strictEqual(byId(flows, 'ops.devices').registry, 'plant.registry');
  });

  it("a webhook URL of an earlier release, naming port 1880, becomes the example's; a URL the user wrote stays", () => {
    const withUrl = (to: string): FlowNode[] =>
      demoFlows({ port: 1883, mqtt311Only: false }).map((n) =>
        n.id === 'plant.change.url' ? { ...n, rules: (n.rules as Array<{ p: string }>).map((r) => (r.p === 'url' ? { ...r, to } : r)) } : n,
      );
    const urlOf = (flows: FlowNode[]): unknown => (byId(flows, 'plant.change.url').rules as Array<{ p: string; to: unknown }>).find((r) => r.p === 'url')?.to;
    const released = withUrl('$env("M2M_WEBHOOK_URL") ? $env("M2M_WEBHOOK_URL") : "http://127.0.0.1:1880/webhook-demo"');
    assert.match(String(urlOf(syncDemoFlows(released, { port: 1883, mqtt311Only: false }).flows)), /M2M_EDITOR_PORT/);
    const own = withUrl('"https://hooks.example.com/plant"');
    assert.strictEqual(urlOf(syncDemoFlows(own, { port: 1883, mqtt311Only: false }).flows), '"https://hooks.example.com/plant"');
  });
});

interface DebugMessage {
  id: string;
  msg: string;
}

/** A running `npm start` (scripts/start.ts), and the debug sidebar of its editor. */
class Demo {
  private readonly output: string[] = [];
  private readonly debug: DebugMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private socket: WebSocket | undefined;

  private constructor(private readonly child: ChildProcess) {
    const keep = (chunk: Buffer): void => {
      this.output.push(chunk.toString());
      this.notify();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => this.notify());
  }

  private get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  static async start(env: Record<string, string>): Promise<Demo> {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.M2M_WEBHOOK_URL; // the demo's own receiver
    const demo = new Demo(spawn(process.execPath, ['-r', 'tsx/cjs', 'scripts/start.ts'], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] }));
    await demo.until(() => demo.log.includes('Node-RED editor:'), 'the editor to start', 60_000);
    await demo.watchDebug(Number(env.M2M_EDITOR_PORT));
    return demo;
  }

  get log(): string {
    return this.output.join('');
  }

  /** What the debug node `id` showed, parsed. */
  shown(id: string): unknown[] {
    return this.debug
      .filter((d) => d.id === id)
      .map((d) => {
        try {
          return JSON.parse(d.msg) as unknown;
        } catch {
          return d.msg;
        }
      });
  }

  /** Resolves once `check` holds, checked on every debug message and output. */
  until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(test);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; npm start said:\n${this.log}\ndebug sidebar (last 20):\n${this.debug
              .slice(-20)
              .map((d) => `${d.id}: ${d.msg.slice(0, 200)}`)
              .join('\n')}`,
          ),
        );
      }, timeoutMs);
      const test = (): void => {
        const done = check();
        if (!done && !this.exited) return;
        clearTimeout(timer);
        this.waiters.delete(test);
        if (done) resolve();
        else reject(new Error(`npm start exited while waiting for ${what}:\n${this.log}`));
      };
      this.waiters.add(test);
      test();
    });
  }

  private watchDebug(editorPort: number): Promise<void> {
    const socket = new WebSocket(`ws://127.0.0.1:${editorPort}/comms`);
    this.socket = socket;
    socket.on('message', (data) => {
      for (const { topic, data: message } of JSON.parse(String(data)) as Array<{ topic: string; data: DebugMessage }>) {
        if (topic === 'debug') this.debug.push(message);
      }
      this.notify();
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('open', () => {
        socket.send(JSON.stringify({ subscribe: 'debug' }));
        resolve();
      });
    });
  }

  /** Ctrl-C. */
  async stop(): Promise<void> {
    this.socket?.terminate();
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGINT');
    const forced = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(forced);
  }
}

const isCommand =
  (status: string) =>
  (shown: unknown): boolean =>
    (shown as { status?: unknown }).status === status;

/** The plant demo works as its README says: digests arrive at the demo webhook, a fan command succeeds. */
async function plantWorks(demo: Demo): Promise<void> {
  await demo.until(() => demo.shown('plant.debug.digest').some((d) => Array.isArray(d) && d.length > 0), 'an alarm digest at the demo webhook', 60_000);
  await demo.until(() => demo.shown('plant.debug.commands').some(isCommand('succeeded')), 'a fan command to succeed', 60_000);
}

/** The ports the issue names, unless something on this machine has them. */
async function portOr(port: number): Promise<number> {
  return (await reachable(port)) ? freePort() : port;
}

describe('npm start, twice with different brokers (a child process on a fresh user directory)', function () {
  this.timeout(300_000);
  let userDir: string;
  let demo: Demo | undefined;

  before(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-start-'));
  });
  afterEach(async () => {
    await demo?.stop();
    demo = undefined;
  });
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  it("works on M2M_EDITOR_PORT=18880 M2M_BROKER_PORT=18883, then after a restart on another broker port, keeping the user's own flows", async () => {
    const editorPort = String(await portOr(18880));
    demo = await Demo.start({ M2M_USER_DIR: userDir, M2M_EDITOR_PORT: editorPort, M2M_BROKER_PORT: String(await portOr(18883)) });
    await plantWorks(demo);
    // the operator console beside the plant, on the dashboard the demo links from devDependencies
    assert.match(demo.log, new RegExp(`Operator dashboard: http://127.0.0.1:${editorPort}/dashboard`));
    assert.strictEqual((await fetch(`http://127.0.0.1:${editorPort}/dashboard`)).status, 200);
    assert.strictEqual(
      (await fetch(`http://127.0.0.1:${editorPort}/resources/@m2mflow/node-red-m2m/ui-m2m-alarms.umd.js`)).status,
      200,
      'the widget bundle is served',
    );
    await demo.stop();

    const flowFile = path.join(userDir, 'flows.json');
    fs.writeFileSync(flowFile, JSON.stringify([...(JSON.parse(fs.readFileSync(flowFile, 'utf8')) as FlowNode[]), ...USER_NODES]));
    let otherBroker = await freePort();
    while (otherBroker === 18883) otherBroker = await freePort();
    demo = await Demo.start({ M2M_USER_DIR: userDir, M2M_EDITOR_PORT: editorPort, M2M_BROKER_PORT: String(otherBroker) });
    assert.match(demo.log, new RegExp(`embedded aedes on mqtt://127.0.0.1:${otherBroker}`));
    await plantWorks(demo);
    await demo.stop();

    const flows = JSON.parse(fs.readFileSync(flowFile, 'utf8')) as FlowNode[];
    assert.deepStrictEqual(
      flows.filter((n) => n.id.startsWith('mine.')),
      USER_NODES,
      "the user's own flow is kept",
    );
    assert.strictEqual(byId(flows, 'plant.broker').port, String(otherBroker));
  });
});
