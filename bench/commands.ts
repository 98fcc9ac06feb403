// bench:commands: command round trips through a real Mosquitto on loopback.
//   flow: inject -> m2m-command -> mqtt out ~ Mosquitto ~ mqtt in -> m2m-simulator -> mqtt out ~ Mosquitto ~ mqtt in
//         -> m2m-command -> succeeded, timed from input to the status event;
//   floor: raw mqtt.js MQTT 5 request/reply (responseTopic + correlationData, JSON both ways) over the same broker.
// Each runs with Nagle's algorithm (the default of mqtt.js, Node-RED's mqtt-broker node and Mosquitto) and with
// TCP_NODELAY set on the client sockets, against the shared Mosquitto on 1883 and against one started here with
// `set_tcp_nodelay true`. Then heap bytes per pending command with 10,000 in flight.
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import mqtt, { type MqttClient } from 'mqtt';
import { CommandTracker, MemoryCommandStore } from '../lib/command';
import { openRegistry } from '../lib/registry';
import type { StatusEvent } from '../lib/command';
import { helper } from '../test/helpers/node-red';
import { freePort, reachable } from '../test/helpers/services';
import { MODULES, loopFlow, uniquePrefix } from '../test/command/flow';
import { fmt, heapUsed, percentile, report } from './harness';

const DEVICES = 100;
const BURST = 10_000;
const WINDOW = 500;
const PACED_RATE = 1000;
const PACED_SECONDS = 3;

/** Something that does request/reply: `request(i)` starts round trip i, `onDone(i)` reports its end. */
interface Loop {
  request(i: number): void;
  onDone: (i: number) => void;
  close(): Promise<void>;
}

interface Figures {
  rate: number;
  p50: number;
  p99: number;
}

function summarise(samples: Float64Array, count: number, seconds: number): Figures {
  const sorted = samples.slice(0, count).sort();
  return { rate: count / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** As fast as it goes with WINDOW round trips in flight. */
function burst(loop: Loop, count: number): Promise<Figures> {
  const started = new Float64Array(count);
  const took = new Float64Array(count);
  let next = 0;
  let ended = 0;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const start = (): void => {
      const i = next++;
      started[i] = performance.now();
      loop.request(i);
    };
    loop.onDone = (i) => {
      took[i] = performance.now() - started[i];
      if (++ended === count) resolve(summarise(took, count, (performance.now() - t0) / 1000));
      else if (next < count) start();
    };
    while (next < Math.min(WINDOW, count)) start();
  });
}

/** A steady PACED_RATE round trips a second, sent every millisecond or so; latency percentiles. */
function paced(loop: Loop): Promise<Figures> {
  const count = PACED_RATE * PACED_SECONDS;
  const started = new Float64Array(count);
  const took = new Float64Array(count);
  let next = 0;
  let ended = 0;
  const t0 = performance.now();
  return new Promise((resolve) => {
    loop.onDone = (i) => {
      took[i] = performance.now() - started[i];
      if (++ended === count) resolve(summarise(took, count, (performance.now() - t0) / 1000));
    };
    const timer = setInterval(() => {
      const due = Math.min(count, Math.floor(((performance.now() - t0) / 1000) * PACED_RATE) + 1);
      while (next < due) {
        started[next] = performance.now();
        loop.request(next++);
      }
      if (next === count) clearInterval(timer);
    }, 1);
  });
}

function connect(url: string, noDelay: boolean): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0 });
    client.once('connect', () => {
      if (noDelay) (client.stream as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
      resolve(client);
    });
    client.once('error', reject);
  });
}

/** The floor: two mqtt.js clients doing what the flow does, without Node-RED. */
async function rawLoop(url: string, noDelay: boolean): Promise<Loop> {
  const prefix = uniquePrefix('bench-raw');
  const requester = await connect(url, noDelay);
  const responder = await connect(url, noDelay);
  await responder.subscribeAsync(`${prefix}/+/commands/+`, { qos: 1 });
  await requester.subscribeAsync(`${prefix}/+/replies`, { qos: 1 });
  responder.on('message', (topic, payload, packet) => {
    const request = JSON.parse(payload.toString()) as { id: string; command: string };
    const reply = JSON.stringify({ id: request.id, status: 'ok', result: { device: topic.split('/')[2], command: request.command, done: true } });
    responder.publish(packet.properties?.responseTopic ?? '', reply, { qos: 1, properties: { correlationData: packet.properties?.correlationData } });
  });
  const loop: Loop = {
    request: (i) => {
      const device = `dev-${i % DEVICES}`;
      const id = String(i);
      requester.publish(`${prefix}/${device}/commands/set`, JSON.stringify({ id, command: 'set', params: { i }, ts: Date.now() }), {
        qos: 1,
        properties: { responseTopic: `${prefix}/${device}/replies`, correlationData: Buffer.from(id) },
      });
    },
    onDone: () => undefined,
    close: async () => {
      await requester.endAsync();
      await responder.endAsync();
    },
  };
  requester.on('message', (_t, payload, packet) => {
    const id = packet.properties?.correlationData?.toString() ?? (JSON.parse(payload.toString()) as { id: string }).id;
    loop.onDone(Number(id));
  });
  return loop;
}

/** The flow with the core mqtt nodes, m2m-command and m2m-simulator (answering at once). */
async function flowLoop(port: number, noDelay: boolean): Promise<Loop> {
  const prefix = uniquePrefix('bench-flow');
  await helper.load(MODULES, loopFlow({ port, protocolVersion: '5', prefix, devices: DEVICES, command: { timeout: 30 } }));
  helper.removeRecordingSpies(['cmd', 'replyIn', 'commandIn', 'sim']);
  const cmd = helper.getNode('cmd');
  const events = helper.getNode('events');
  let onDone: (i: number) => void = () => undefined;
  events.on('input', (msg) => {
    const e = msg.payload as StatusEvent;
    if (e.status === 'succeeded') onDone(Number(e.id.slice(2)));
    else if (e.status !== 'sent') throw new Error(`command ${e.id} ended ${e.status}: ${e.error}`);
  });
  const brokers = ['plantBroker', 'deviceBroker'].map((id) => helper.getNode(id) as unknown as { connected: boolean; client: MqttClient });
  for (let i = 0; i < 200 && !brokers.every((b) => b.connected); i++) await new Promise((r) => setTimeout(r, 25));
  if (noDelay) for (const b of brokers) (b.client.stream as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
  // warm up: retried until both subscriptions are in place
  await new Promise<void>((resolve) => {
    onDone = () => resolve();
    cmd.receive({ deviceId: 'dev-001', command: 'ping', commandId: 'w-0', timeout: 300, retries: 50 });
  });
  let run = 0;
  const loop: Loop = {
    request: (i) =>
      cmd.receive({
        deviceId: `dev-${String((i % DEVICES) + 1).padStart(3, '0')}`,
        command: 'set',
        payload: { i },
        commandId: `${(run % 36).toString(36)}-${i}`,
      }),
    onDone: () => undefined,
    close: () => helper.unload(),
  };
  onDone = (i) => loop.onDone(i);
  // each measurement reuses the numbers 0..n, so ids carry a run letter to stay unique
  const wrap = <T>(f: () => Promise<T>): Promise<T> => {
    run++;
    return f();
  };
  return Object.assign(loop, { wrap });
}

async function startMosquitto(port: number, dir: string): Promise<ChildProcess> {
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_queued_messages 10000\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await reachable(port)); i++) await new Promise((r) => setTimeout(r, 50));
  return child;
}

/** The machine is shared and noisy: each paced figure is the better of two runs, for the flow and the floor alike. */
function better(a: Figures, b: Figures): Figures {
  return a.p99 <= b.p99 ? a : b;
}

function print(label: string, flow: Figures, floor: Figures): void {
  report({ name: `${label}: round trips/s (burst)`, value: flow.rate, unit: 'rt/s', baseline: floor.rate, baselineName: 'raw mqtt.js', higherIsBetter: true });
  report({ name: `${label}: p50 under burst`, value: flow.p50, unit: 'ms', baseline: floor.p50, baselineName: 'raw mqtt.js' });
}

function printPaced(label: string, flow: Figures, floor: Figures): void {
  report({ name: `${label}: p50 at ${PACED_RATE}/s (best of 2)`, value: flow.p50, unit: 'ms', baseline: floor.p50, baselineName: 'raw mqtt.js' });
  report({ name: `${label}: p99 at ${PACED_RATE}/s (best of 2)`, value: flow.p99, unit: 'ms', baseline: floor.p99, baselineName: 'raw mqtt.js' });
}

async function measure(label: string, url: string, port: number, noDelay: boolean): Promise<void> {
  const raw = await rawLoop(url, noDelay);
  await burst(raw, 2000); // warm up
  const rawBurst = await burst(raw, BURST);
  const rawPaced = better(await paced(raw), await paced(raw));
  await raw.close();

  const flow = (await flowLoop(port, noDelay)) as Loop & { wrap<T>(f: () => Promise<T>): Promise<T> };
  await flow.wrap(() => burst(flow, 2000));
  const flowBurst = await flow.wrap(() => burst(flow, BURST));
  const flowPaced = better(await flow.wrap(() => paced(flow)), await flow.wrap(() => paced(flow)));
  await flow.close();
  print(label, flowBurst, rawBurst);
  printPaced(label, flowPaced, rawPaced);
}

async function heapPerPending(): Promise<void> {
  const count = 10_000;
  const measureTracker = async (store: () => Promise<ConstructorParameters<typeof CommandTracker>[0]['store']>): Promise<number> => {
    const s = await store();
    const tracker = new CommandTracker({ store: s, onCommand: () => undefined, onStatus: () => undefined });
    const before = heapUsed();
    for (let i = 0; i < count; i++) tracker.submit({ deviceId: `dev-${i % DEVICES}`, command: 'set', params: { level: i } });
    const bytes = (heapUsed() - before) / count;
    if (tracker.counts().pending !== count) throw new Error('not all pending');
    tracker.close();
    return bytes;
  };
  // baseline: the least a pending command needs, a Map entry holding its id and parameters
  const map = new Map<string, unknown>();
  const before = heapUsed();
  for (let i = 0; i < count; i++) map.set(`xxxxxxxx.${i.toString(36)}`, { level: i });
  const floor = (heapUsed() - before) / count;
  map.clear();
  const memory = await measureTracker(async () => new MemoryCommandStore());
  const registry = await openRegistry({ name: 'bench', store: { kind: 'memory' } });
  const withRegistry = await measureTracker(() => registry.state('command:bench'));
  await registry.close();
  report({ name: 'heap per pending command (no registry)', value: memory, unit: 'B', baseline: floor, baselineName: 'Map of id -> params' });
  report({ name: 'heap per pending command (registry, memory)', value: withRegistry, unit: 'B', baseline: floor, baselineName: 'Map of id -> params' });
}

async function main(): Promise<void> {
  console.log(`bench:commands: ${DEVICES} devices, burst ${fmt(BURST)} with ${WINDOW} in flight, paced ${PACED_RATE}/s for ${PACED_SECONDS} s\n`);
  await heapPerPending();
  const shared = await reachable(1883);
  if (shared) {
    await measure('Mosquitto :1883, Nagle (defaults)', 'mqtt://127.0.0.1:1883', 1883, false);
    await measure('Mosquitto :1883, client TCP_NODELAY', 'mqtt://127.0.0.1:1883', 1883, true);
  } else {
    console.log('Mosquitto on 127.0.0.1:1883 is not reachable; skipping the shared-broker rows');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-bench-'));
  const port = await freePort();
  const own = await startMosquitto(port, dir);
  try {
    await measure('Mosquitto set_tcp_nodelay, client TCP_NODELAY', `mqtt://127.0.0.1:${port}`, port, true);
  } finally {
    own.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
