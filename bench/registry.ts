// npm run bench:registry [-- memory|file] — the registry with 100,000 devices beside a plain Map doing the same work.
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { openRegistry, type DeviceRecord, type DeviceRegistry } from '../lib/registry';
import { verifyToken } from '../lib/registry/credentials';
import { snapshotOps, writeSnapshot } from '../lib/registry/stores/file/snapshot';
import { fmt, heapUsed, interleaved, latencies, median, report } from './harness';

const DEVICES = 100_000;
const TOUCHES = 1_000_000;
const GETS = 1_000_000;
const VERIFIES = 200_000;
const MEMORY_ROUNDS = 3;

const idOf = (i: number): string => `plant-a:line-${i % 40}:dev-${i}`;
const attributesOf = (i: number): Record<string, unknown> => ({ limit: 20 + (i % 10), room: `r${i % 50}` });

/** What a hand-written Map registry would keep per device. */
type PlainRecord = Omit<DeviceRecord, 'online'>;

/** Built as the registry builds its record: the id made once, and the name the same string. */
function plainRecord(id: string, i: number): PlainRecord {
  const now = Date.now();
  return { id, name: id, type: 'sensor', attributes: attributesOf(i), tags: ['hall-1'], createdAt: now, updatedAt: now, lastSeen: null };
}

async function timeAsync(count: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await fn(i);
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Runs `count` calls with up to `window` in flight, as a busy flow does; returns calls per second. */
async function timeConcurrent(count: number, window: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: window }, worker));
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

function timeSync(count: number, fn: (i: number) => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn(i);
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

interface MemoryFigures {
  register: number;
  touch: number;
  get: { p50: number; p99: number };
  bytes: number;
}

/** The baseline: a Map of plain records doing the same work. */
function mapFigures(): MemoryFigures {
  const heapBefore = heapUsed();
  const map = new Map<string, PlainRecord>();
  const register = timeSync(DEVICES, (i) => {
    const id = idOf(i);
    map.set(id, plainRecord(id, i));
  });
  const bytes = (heapUsed() - heapBefore) / DEVICES;
  const touch = timeSync(TOUCHES, (i) => {
    const r = map.get(idOf(i % DEVICES));
    if (r) r.lastSeen = Date.now();
  });
  const get = latencies(GETS, (i) => map.get(idOf((i * 7919) % DEVICES)));
  map.clear();
  return { register, touch, get, bytes };
}

async function registryFigures(): Promise<MemoryFigures> {
  const heapBefore = heapUsed();
  const registry = await openRegistry({ name: 'bench', store: { kind: 'memory' }, types: [{ name: 'sensor' }] });
  const register = await timeAsync(DEVICES, (i) => registry.register({ id: idOf(i), type: 'sensor', attributes: attributesOf(i), tags: ['hall-1'] }));
  const bytes = (heapUsed() - heapBefore) / DEVICES;
  const touch = await timeAsync(TOUCHES, (i) => registry.touch(idOf(i % DEVICES)));
  const get = latencies(GETS, (i) => registry.get(idOf((i * 7919) % DEVICES)));
  await registry.close();
  return { register, touch, get, bytes };
}

async function memoryBench(): Promise<void> {
  console.log(`\n== memory store, ${fmt(DEVICES)} devices, median of ${MEMORY_ROUNDS} rounds, the Map and the registry in alternating order ==`);
  const [maps, registries] = await interleaved<MemoryFigures>(MEMORY_ROUNDS, [mapFigures, registryFigures]);
  const m = (list: MemoryFigures[], pick: (f: MemoryFigures) => number): number => median(list.map(pick));
  report({
    name: 'register (awaited one by one)',
    value: m(registries, (f) => f.register),
    unit: 'ops/s',
    baseline: m(maps, (f) => f.register),
    baselineName: 'Map.set',
  });
  report({
    name: 'touch (awaited one by one)',
    value: m(registries, (f) => f.touch),
    unit: 'ops/s',
    baseline: m(maps, (f) => f.touch),
    baselineName: 'Map get+set',
  });
  report({ name: 'get p50', value: m(registries, (f) => f.get.p50), unit: 'µs', baseline: m(maps, (f) => f.get.p50), baselineName: 'Map.get' });
  report({ name: 'get p99', value: m(registries, (f) => f.get.p99), unit: 'µs', baseline: m(maps, (f) => f.get.p99), baselineName: 'Map.get' });
  report({
    name: 'heap per device',
    value: m(registries, (f) => f.bytes),
    unit: 'B',
    baseline: m(maps, (f) => f.bytes),
    baselineName: 'Map of records (id built once)',
  });
}

async function fileBench(): Promise<void> {
  console.log(`\n== file store, ${fmt(DEVICES)} devices ==`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-bench-'));
  const plainFile = path.join(dir, 'plain.json');
  try {
    // Baseline: the whole Map written once as JSON and read back; no journal, no durability per write.
    const map = new Map<string, PlainRecord>();
    for (let i = 0; i < DEVICES; i++) {
      const id = idOf(i);
      map.set(id, plainRecord(id, i));
    }
    let start = process.hrtime.bigint();
    fs.writeFileSync(plainFile, JSON.stringify([...map.values()]));
    const plainWriteMs = Number(process.hrtime.bigint() - start) / 1e6;
    start = process.hrtime.bigint();
    const reloadedMap = new Map((JSON.parse(fs.readFileSync(plainFile, 'utf8')) as PlainRecord[]).map((r) => [r.id, r]));
    const plainReloadMs = Number(process.hrtime.bigint() - start) / 1e6;
    if (reloadedMap.size !== DEVICES) throw new Error('baseline reload lost records');

    const storeDir = path.join(dir, 'store');
    const registry: DeviceRegistry = await openRegistry({ name: 'bench', store: { kind: 'file', dir: storeDir }, types: [{ name: 'sensor' }] });
    const register = await timeConcurrent(DEVICES, 1000, (i) =>
      registry.register({ id: idOf(i), type: 'sensor', attributes: attributesOf(i), tags: ['hall-1'] }),
    );
    await registry.close();
    const fileBytes = fs.readdirSync(storeDir).reduce((sum, f) => sum + fs.statSync(path.join(storeDir, f)).size, 0);
    start = process.hrtime.bigint();
    const reopened = await openRegistry({ name: 'bench', store: { kind: 'file', dir: storeDir }, types: [{ name: 'sensor' }] });
    const reloadMs = Number(process.hrtime.bigint() - start) / 1e6;
    if (reopened.counts().devices !== DEVICES) throw new Error(`reload found ${reopened.counts().devices} devices`);

    // The same fleet folded into a snapshot by the store's own streaming writer (as a compaction does), reloaded.
    const snapshotDir = path.join(dir, 'snapshot');
    fs.mkdirSync(snapshotDir);
    const { devices } = reopened.snapshot();
    start = process.hrtime.bigint();
    const handle = await fs.promises.open(path.join(snapshotDir, 'snapshot.json'), 'w');
    let position = 0;
    await writeSnapshot(snapshotOps(devices, []), {
      write: async (chunk) => {
        await handle.write(chunk, 0, chunk.length, position);
        position += chunk.length;
      },
    });
    await handle.sync();
    await handle.close();
    const snapshotWriteMs = Number(process.hrtime.bigint() - start) / 1e6;
    await reopened.close();
    start = process.hrtime.bigint();
    const fromSnapshot = await openRegistry({ name: 'bench', store: { kind: 'file', dir: snapshotDir }, types: [{ name: 'sensor' }] });
    const snapshotReloadMs = Number(process.hrtime.bigint() - start) / 1e6;
    if (fromSnapshot.counts().devices !== DEVICES) throw new Error(`snapshot reload found ${fromSnapshot.counts().devices} devices`);
    await fromSnapshot.close();

    report({
      name: 'register, fsync grouped (1000 in flight)',
      value: register,
      unit: 'ops/s',
      baseline: DEVICES / (plainWriteMs / 1000),
      baselineName: 'one JSON dump of a Map (not durable per write)',
    });
    report({
      name: 'files on disk',
      value: fileBytes / 1024 / 1024,
      unit: 'MiB',
      baseline: fs.statSync(plainFile).size / 1024 / 1024,
      baselineName: 'JSON dump',
    });
    report({ name: 'reload 100,000 devices (journal)', value: reloadMs, unit: 'ms', baseline: plainReloadMs, baselineName: 'JSON.parse into a Map' });
    report({ name: 'write a snapshot of 100,000 devices', value: snapshotWriteMs, unit: 'ms', baseline: plainWriteMs, baselineName: 'one JSON dump of a Map' });
    report({ name: 'reload 100,000 devices (snapshot)', value: snapshotReloadMs, unit: 'ms', baseline: plainReloadMs, baselineName: 'JSON.parse into a Map' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A credential as the first release stored it, to measure the scrypt verify it replaced. */
function legacyScryptHash(token: string): string {
  const salt = crypto.randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${crypto.scryptSync(token, salt, 32).toString('base64url')}`;
}

/** How long one fsync of a small file takes while `busy` verifies run at once. */
async function fsyncDuring(dir: string, busy: number, verify: () => Promise<unknown>): Promise<number> {
  const handle = await fs.promises.open(path.join(dir, `sync-${busy}-${Math.random()}`), 'w');
  try {
    await handle.write('x'.repeat(100));
    const running = Array.from({ length: busy }, verify);
    const start = process.hrtime.bigint();
    await handle.sync();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    await Promise.all(running);
    return ms;
  } finally {
    await handle.close();
  }
}

async function verifyBench(): Promise<void> {
  console.log('\n== token verify ==');
  const registry = await openRegistry({ name: 'bench', store: { kind: 'memory' } });
  const { token } = await registry.register({ id: 'gw-1' }, { issueToken: true });
  const legacy = legacyScryptHash(token as string);
  // Baseline first: the first release's scrypt verify, awaited one by one.
  const scryptRate = await timeAsync(30, () => verifyToken(token as string, legacy));
  const hmacRate = await timeAsync(VERIFIES, () => registry.verify('gw-1', token as string));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-bench-verify-'));
  try {
    const scryptFsync = await fsyncDuring(dir, 40, () => verifyToken(token as string, legacy));
    const hmacFsync = await fsyncDuring(dir, 40, () => registry.verify('gw-1', token as string));
    report({
      name: 'verify (HMAC-SHA256, awaited one by one)',
      value: hmacRate,
      unit: 'ops/s',
      baseline: scryptRate,
      baselineName: 'scrypt verify (first release)',
    });
    report({ name: 'fsync while 40 verifies run', value: hmacFsync, unit: 'ms', baseline: scryptFsync, baselineName: 'while 40 scrypt verifies run' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await registry.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `registry benchmark — Node ${process.version}, ${os.cpus().length} cores${(globalThis as { gc?: unknown }).gc ? '' : ' (run with --expose-gc for heap figures)'}`,
  );
  // `npm run bench:registry -- file` (or `memory`) runs one part.
  const only = process.argv[2];
  if (!only || only === 'memory') await memoryBench();
  if (!only || only === 'file') await fileBench();
  await verifyBench();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
