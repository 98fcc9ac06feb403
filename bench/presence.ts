// npm run bench:presence — the cost of presence on the registry's hot path, with 100,000 devices, each figure
// beside a baseline from the same run: an uplink (markSeen) with and without a sleepy-command watcher listening,
// offline/online marks beside a Map doing the same bookkeeping, and sleepy commands released on uplinks.
import { CommandTracker, MemoryCommandStore } from '../lib/command';
import { openRegistry } from '../lib/registry';
import { fmt, opsPerSecond, report } from './harness';

const DEVICES = 100_000;
const UPLINKS = 2_000_000;
const idOf = (i: number): string => `plant-a:dev-${i}`;

async function main(): Promise<void> {
  const registry = await openRegistry({
    name: 'bench-presence',
    store: { kind: 'memory' },
    types: [{ name: 'sensor' }, { name: 'meter', sleepy: true }],
  });
  for (let i = 0; i < DEVICES; i++) await registry.register({ id: idOf(i), type: i % 2 === 0 ? 'sensor' : 'meter' });
  console.log(`\n== presence, ${fmt(DEVICES)} devices ==`);

  const uplinks = (): number => opsPerSecond(UPLINKS, (i) => registry.markSeen(idOf(i % DEVICES)));
  uplinks(); // warm-up
  const bare = uplinks();
  // What m2m-command adds: a tracker listens to every uplink for its sleepy devices' queues.
  const tracker = new CommandTracker({ registry, store: new MemoryCommandStore(), onCommand: () => undefined, onStatus: () => undefined });
  const watched = uplinks();
  tracker.close();
  const bareAgain = uplinks();
  console.log(`(uplinks without a tracker, measured before and after: ${fmt(bare)} and ${fmt(bareAgain)} ops/s)`);
  report({ name: 'uplink (markSeen) with a command tracker', value: watched, unit: 'ops/s', baseline: (bare + bareAgain) / 2, baselineName: 'no tracker' });

  const marks = new Map<string, number>();
  const online = new Set<string>();
  const mapCycle = opsPerSecond(DEVICES, (i) => {
    const id = idOf(i);
    online.delete(id);
    marks.set(id, Date.now());
    marks.delete(id);
    online.add(id);
  });
  const cycle = opsPerSecond(DEVICES, (i) => {
    registry.markOffline(idOf(i));
    registry.markOnline(idOf(i));
  });
  report({ name: 'markOffline + markOnline (memory store)', value: cycle, unit: 'cycles/s', baseline: mapCycle, baselineName: 'Map+Set' });

  // Sleepy meters (odd ids) hold one command each until their uplink; sensors (even ids) get theirs at once.
  const half = DEVICES / 2;
  const commands = new CommandTracker({ registry, store: new MemoryCommandStore(), onCommand: () => undefined, onStatus: () => undefined });
  const sendNow = opsPerSecond(half, (i) => commands.submit({ deviceId: idOf(2 * i), command: 'read' }));
  const start = process.hrtime.bigint();
  for (let i = 0; i < half; i++) commands.submit({ deviceId: idOf(2 * i + 1), command: 'read' });
  for (let i = 0; i < half; i++) registry.markSeen(idOf(2 * i + 1));
  const heldAndReleased = half / (Number(process.hrtime.bigint() - start) / 1e9);
  report({ name: 'sleepy command queued + released on uplink', value: heldAndReleased, unit: 'cmds/s', baseline: sendNow, baselineName: 'sent at once' });
  commands.close();
  await registry.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
