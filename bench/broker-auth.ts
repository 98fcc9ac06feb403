// npm run bench:broker-auth — can m2m-device `verify` sit in an MQTT broker's connect path?
// 1. The registry's verify on 100,000 devices with credentials: ops/s and p99, beside a plain Map lookup and
//    constant-time compare of plaintext tokens (what a flow keeping tokens in context would do) in the same run.
// 2. examples/broker-auth.json over real HTTP (the broker's POST, keep-alive, 16 connections), beside the same
//    flow with verify replaced by a change node, so the ratio is the price of the registry check alone.
import fs from 'fs';
import http from 'http';
import path from 'path';
import { timingSafeEqual } from 'crypto';
import { openRegistry } from '../lib/registry';
import type { DeviceRegistryApi } from '../lib/registry/types';
import { MemoryStore } from '../lib/registry/stores/memory';
import registryNode from '../nodes/m2m-registry/m2m-registry';
import deviceNode from '../nodes/m2m-device/m2m-device';
import { catchNode, coreNode, helper, type FlowNode, type NodeModule } from '../test/helpers/node-red';
import { fmt, latencies, percentile, report } from './harness';

const DEVICES = 100_000;
const VERIFIES = 200_000;
const HTTP_REQUESTS = 5_000;
const CONNECTIONS = 16;

async function core(): Promise<void> {
  const registry = await openRegistry({ name: 'bench-auth', store: { kind: 'memory' } });
  const tokens: string[] = [];
  const plain = new Map<string, Buffer>();
  for (let i = 0; i < DEVICES; i++) {
    const { token } = await registry.register({ id: `meter-${i}` }, { issueToken: true });
    tokens.push(token as string);
    plain.set(`meter-${i}`, Buffer.from(token as string));
  }
  // warm up both
  for (let i = 0; i < 20_000; i++) await registry.verify(`meter-${i % DEVICES}`, tokens[i % DEVICES]);

  const samples = new Float64Array(VERIFIES);
  const start = process.hrtime.bigint();
  for (let i = 0; i < VERIFIES; i++) {
    const t = process.hrtime.bigint();
    await registry.verify(`meter-${(i * 7919) % DEVICES}`, tokens[(i * 7919) % DEVICES]);
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  const verifyOps = VERIFIES / (Number(process.hrtime.bigint() - start) / 1e9);
  samples.sort();

  const baseStart = process.hrtime.bigint();
  for (let i = 0; i < VERIFIES; i++) {
    const id = `meter-${(i * 7919) % DEVICES}`;
    const given = Buffer.from(tokens[(i * 7919) % DEVICES]);
    const kept = plain.get(id);
    await Promise.resolve(kept !== undefined && kept.length === given.length && timingSafeEqual(kept, given));
  }
  const baseOps = VERIFIES / (Number(process.hrtime.bigint() - baseStart) / 1e9);
  const base = latencies(VERIFIES, (i) => {
    const kept = plain.get(`meter-${(i * 7919) % DEVICES}`);
    const given = Buffer.from(tokens[(i * 7919) % DEVICES]);
    return kept !== undefined && kept.length === given.length && timingSafeEqual(kept, given);
  });
  report({
    name: 'registry.verify (right token), ops/s',
    value: verifyOps,
    unit: 'ops/s',
    baseline: baseOps,
    baselineName: 'Map + timingSafeEqual on plaintext',
    higherIsBetter: true,
  });
  report({
    name: 'registry.verify p99',
    value: percentile(samples, 99),
    unit: 'µs',
    baseline: base.p99,
    baselineName: 'Map + timingSafeEqual',
    higherIsBetter: false,
  });
  const unknown = new Float64Array(50_000);
  for (let i = 0; i < unknown.length; i++) {
    const t = process.hrtime.bigint();
    await registry.verify(i % 2 ? `nobody-${i}` : `meter-${i}`, 'wrong-token-wrong-token-wrong-to');
    unknown[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  unknown.sort();
  report({
    name: 'registry.verify wrong token / unknown id p99',
    value: percentile(unknown, 99),
    unit: 'µs',
    baseline: percentile(samples, 99),
    baselineName: 'right token',
    higherIsBetter: false,
  });
  await registry.close();
}

const EXAMPLE = path.join(__dirname, '../examples/broker-auth.json');
const REGISTRY = 'm2m.ex.auth.registry';
// the flow's http in nodes live on Node-RED's httpNode app, served here by a server of our own
let httpApp: http.RequestListener | undefined;
const captureHttpApp: NodeModule = (RED) => {
  httpApp = (RED as unknown as { httpNode: http.RequestListener }).httpNode;
};
const MODULES = [
  registryNode as NodeModule,
  deviceNode as NodeModule,
  catchNode,
  captureHttpApp,
  ...['network/21-httpin.js', 'function/15-change.js', 'function/10-switch.js', 'common/20-inject.js', 'common/90-comment.js'].map(coreNode),
];

function exampleFlow(withVerify: boolean): FlowNode[] {
  return (JSON.parse(fs.readFileSync(EXAMPLE, 'utf8')) as FlowNode[]).map((node) => {
    if (node.type === 'm2m-registry') return { ...node, storeType: 'memory' };
    if (node.type === 'debug') return { id: node.id, type: 'helper', z: node.z };
    if (!withVerify && node.id === 'm2m.ex.auth.verify') {
      return {
        id: node.id,
        type: 'change',
        z: node.z,
        rules: [
          { t: 'set', p: 'auth.verified', pt: 'msg', to: 'true', tot: 'bool' },
          { t: 'delete', p: 'token', pt: 'msg' },
        ],
        wires: node.wires?.slice(0, 1),
      };
    }
    return node;
  });
}

/** CONNECTIONS keep-alive clients POST `requests` requests in all; req/s and latency percentiles in ms. */
async function drive(port: number, body: (i: number) => string, requests = HTTP_REQUESTS): Promise<{ rps: number; p50: number; p99: number; allowed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS, noDelay: true } as http.AgentOptions);
  const samples: number[] = [];
  let next = 0;
  let allowed = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const t = process.hrtime.bigint();
      const req = http.request({ port, path: '/mqtt/auth', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          samples.push(Number(process.hrtime.bigint() - t) / 1e6);
          if ((JSON.parse(text) as { result: string }).result === 'allow') allowed++;
          resolve();
        });
      });
      req.on('error', reject);
      req.end(body(i));
    });
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < requests) await one(next++);
    }),
  );
  const rps = requests / (Number(process.hrtime.bigint() - start) / 1e9);
  agent.destroy();
  samples.sort((a, b) => a - b);
  return { rps, p50: percentile(samples, 50), p99: percentile(samples, 99), allowed };
}

async function overHttp(withVerify: boolean): Promise<{ rps: number; p50: number; p99: number; allowed: number }> {
  MemoryStore.forget(REGISTRY);
  await helper.load(MODULES, exampleFlow(withVerify));
  helper.removeRecordingSpies();
  const registry = (helper.getNode(REGISTRY) as unknown as { registry: DeviceRegistryApi }).registry;
  await registry.ready();
  const tokens: string[] = [];
  for (let i = 0; i < 10_000; i++) tokens.push((await registry.register({ id: `meter-${i}` }, { issueToken: true })).token as string);
  // without TCP_NODELAY each small answer waits for the client's delayed ACK (~40 ms)
  const server = http.createServer({ noDelay: true }, (req, res) => (httpApp as http.RequestListener)(req, res));
  server.keepAliveTimeout = 60_000; // a busy machine must not close a socket the client is about to reuse
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const body = (i: number): string => JSON.stringify({ username: `meter-${i % 10_000}`, password: tokens[i % 10_000], clientid: `meter-${i % 10_000}` });
  await drive(port, body, 1000); // warm up
  const result = await drive(port, body);
  await new Promise((resolve) => server.close(resolve));
  await helper.unload();
  return result;
}

async function main(): Promise<void> {
  console.log(
    `bench:broker-auth  ${DEVICES.toLocaleString('en-US')} devices, ${VERIFIES.toLocaleString('en-US')} verifies; HTTP ${HTTP_REQUESTS.toLocaleString('en-US')} requests on ${CONNECTIONS} connections; Node ${process.version}`,
  );
  await core();
  const floor = await overHttp(false);
  const withVerify = await overHttp(true);
  report({
    name: 'examples/broker-auth.json over HTTP, req/s',
    value: withVerify.rps,
    unit: 'req/s',
    baseline: floor.rps,
    baselineName: 'same flow without verify',
    higherIsBetter: true,
  });
  report({
    name: 'examples/broker-auth.json p50',
    value: withVerify.p50,
    unit: 'ms',
    baseline: floor.p50,
    baselineName: 'without verify',
    higherIsBetter: false,
  });
  report({
    name: 'examples/broker-auth.json p99',
    value: withVerify.p99,
    unit: 'ms',
    baseline: floor.p99,
    baselineName: 'without verify',
    higherIsBetter: false,
  });
  console.log(`allowed ${fmt(withVerify.allowed)} of ${fmt(HTTP_REQUESTS)} (every request carried a right credential)`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
