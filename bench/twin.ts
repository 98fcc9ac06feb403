// bench:twin: device twin operations on 100,000 devices (memory store), beside a plain Map merge of the same
// patches in the same run; then heap bytes per twin whose desired and reported documents hold ten keys each,
// beside a Map holding the same twenty values per device as plain objects.
import { openRegistry, type DeviceRegistry } from '../lib/registry';
import { TwinService } from '../lib/twin';
import { fmt, heapUsed, report } from './harness';

const DEVICES = 100_000;
const ROUNDS = 3;
/** Operations in flight at once, each on its own device (a device's operations run one after another). */
const WINDOW = 1000;

const ids = Array.from({ length: DEVICES }, (_, i) => `th-${i}`);

function setpoint(round: number, i: number): Record<string, unknown> {
  return { setpoint: 15 + ((round + i) % 10), mode: round % 2 === 0 ? 'heat' : 'eco' };
}

function tenKeys(i: number): Record<string, unknown> {
  return {
    setpoint: 20 + (i % 5),
    mode: 'heat',
    fan: i % 3,
    hysteresis: 0.5,
    minOn: 120,
    maxOn: 3600,
    display: 'on',
    lock: false,
    schedule: 'weekday',
    offset: -0.5,
  };
}

async function registryWithDevices(): Promise<DeviceRegistry> {
  const registry = await openRegistry({ name: 'bench-twin', store: { kind: 'memory' }, types: [{ name: 'thermostat' }] });
  for (let i = 0; i < DEVICES; i += WINDOW) {
    await Promise.all(ids.slice(i, i + WINDOW).map((id) => registry.register({ id, type: 'thermostat' })));
  }
  return registry;
}

/** Operations per second of `op` over every device, ROUNDS times, WINDOW at a time. */
async function measure(op: (id: string, round: number, i: number) => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < DEVICES; i += WINDOW) {
      const batch: Array<Promise<unknown>> = [];
      for (let j = i; j < Math.min(DEVICES, i + WINDOW); j++) batch.push(op(ids[j], round, j));
      await Promise.all(batch);
    }
  }
  return (DEVICES * ROUNDS) / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** The baseline: a shallow merge into a Map, as a function node would keep desired state in context. */
function plainMerge(map: Map<string, Record<string, unknown>>, id: string, patch: Record<string, unknown>): void {
  map.set(id, { ...map.get(id), ...patch });
}

async function main(): Promise<void> {
  console.log(`bench:twin  ${DEVICES.toLocaleString('en-US')} devices, ${ROUNDS} rounds, ${WINDOW} in flight; Node ${process.version}`);
  const registry = await registryWithDevices();
  const twins = await TwinService.open(registry);
  let events = 0;
  twins.on('twin', () => events++);

  // one warm-up round each, so V8 has optimised both before they are timed
  await measure((id, round, i) => twins.desire(id, setpoint(round + 7, i)));
  const desire = await measure((id, round, i) => twins.desire(id, setpoint(round, i)));
  const reportRate = await measure((id, round, i) => twins.report(id, setpoint(round, i)));

  const desired = new Map<string, Record<string, unknown>>();
  const reported = new Map<string, Record<string, unknown>>();
  await measure((id, round, i) => Promise.resolve(plainMerge(desired, id, setpoint(round + 7, i))));
  const mapAsync = await measure((id, round, i) => Promise.resolve(plainMerge(desired, id, setpoint(round, i))));
  const syncStart = process.hrtime.bigint();
  for (let round = 0; round < ROUNDS; round++) for (let i = 0; i < DEVICES; i++) plainMerge(reported, ids[i], setpoint(round, i));
  const mapSync = (DEVICES * ROUNDS) / (Number(process.hrtime.bigint() - syncStart) / 1e9);

  report({ name: 'desire (merge patch, delta, versions, store)', value: desire, unit: 'ops/s', baseline: mapSync, baselineName: 'Map merge' });
  report({ name: 'report (merge patch, delta, synced, store)', value: reportRate, unit: 'ops/s', baseline: mapSync, baselineName: 'Map merge' });
  report({ name: 'desire', value: desire, unit: 'ops/s', baseline: mapAsync, baselineName: 'Map merge, one promise per op' });
  console.log(`  (${fmt(events)} delta/synced events sent)`);
  twins.close();
  await registry.close();

  // heap per twin: devices registered first, then twins with ten desired and ten reported keys
  const fresh = await registryWithDevices();
  const heapTwins = await TwinService.open(fresh);
  const before = heapUsed();
  for (let i = 0; i < DEVICES; i += WINDOW) {
    await Promise.all(
      ids.slice(i, i + WINDOW).map(async (id, k) => {
        await heapTwins.desire(id, tenKeys(i + k));
        await heapTwins.report(id, tenKeys(i + k + 1));
      }),
    );
  }
  const twinBytes = (heapUsed() - before) / DEVICES;
  const plainBefore = heapUsed();
  const plain = new Map<string, { desired: Record<string, unknown>; reported: Record<string, unknown> }>();
  for (let i = 0; i < DEVICES; i++) plain.set(ids[i], { desired: tenKeys(i), reported: tenKeys(i + 1) });
  const plainBytes = (heapUsed() - plainBefore) / DEVICES;
  report({
    name: 'heap per twin (10 desired + 10 reported keys)',
    value: twinBytes,
    unit: 'bytes',
    baseline: plainBytes,
    baselineName: 'Map of the same objects',
    higherIsBetter: false,
  });
  if (plain.size !== DEVICES) throw new Error('unreachable: keeps the baseline alive until measured');
  heapTwins.close();
  await fresh.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
