// One registry instance in its own Node process, driven by redis-processes.test.ts over IPC. It writes in a
// loop and reports what was acknowledged, so the parent can check that nothing acknowledged was lost.
import { createRegistry, type DeviceEvent } from '../../lib/registry';
import type { StoreStatus } from '../../lib/registry/stores/types';

export type WorkerCommand =
  | { cmd: 'run'; writer: string; own: string[]; shared: string[] }
  | { cmd: 'stop' }
  | { cmd: 'register'; id: string }
  | { cmd: 'waitFor'; id: string }
  | { cmd: 'snapshot' };

export type WorkerEvent =
  | { event: 'loaded' }
  | { event: 'warn'; message: string }
  | { event: 'store'; state: StoreStatus['state'] }
  | { event: 'acked'; count: number }
  | { event: 'refused'; code: string }
  | { event: 'stopped'; acked: Record<string, number>; attempted: Record<string, number>; registered: string[] }
  | { event: 'done'; id?: string }
  | { event: 'snapshot'; devices: Array<{ id: string; rev: number; attributes: Record<string, unknown> }> };

const [url, namespace] = process.argv.slice(2) as [string, string];
const send = (event: WorkerEvent): void => void process.send?.(event);
const registry = createRegistry({ name: namespace, store: { kind: 'redis', url }, warn: (message) => send({ event: 'warn', message }) });
registry.on('store', (status: StoreStatus) => send({ event: 'store', state: status.state }));
registry.ready().then(() => send({ event: 'loaded' }));

let running = false;
/** device -> the highest value of this writer's attribute that the registry acknowledged / tried. */
const acked: Record<string, number> = {};
const attempted: Record<string, number> = {};
const registered: string[] = [];

function connected(): Promise<void> {
  if (registry.storeState?.state === 'connected') return Promise.resolve();
  return new Promise((resolve) => {
    const listener = (status: StoreStatus): void => {
      if (status.state !== 'connected') return;
      registry.off('store', listener);
      resolve();
    };
    registry.on('store', listener);
  });
}

async function run(writer: string, own: string[], shared: string[]): Promise<void> {
  running = true;
  let count = 0;
  for (let n = 1; running; n++) {
    const targets = [...own, ...shared];
    const id = n % 7 === 0 ? `${writer}-new-${n}` : (targets[n % targets.length] as string);
    attempted[id] = n;
    try {
      if (id.includes('-new-')) await registry.register({ id, attributes: { [writer]: n } });
      else await registry.update(id, { attributes: { [writer]: n } });
      acked[id] = n;
      if (id.includes('-new-')) registered.push(id);
      send({ event: 'acked', count: ++count });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'unknown';
      send({ event: 'refused', code });
      // Store away: wait for it instead of spinning; a conflict: the registry now holds the current record.
      if (code === 'STORE_UNAVAILABLE') await connected();
      else if (code !== 'VERSION_CONFLICT') throw err;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  send({ event: 'stopped', acked, attempted, registered });
}

function has(id: string): Promise<void> {
  if (registry.has(id)) return Promise.resolve();
  return new Promise((resolve) => {
    const listener = (e: DeviceEvent): void => {
      if (e.deviceId !== id || !registry.has(id)) return;
      registry.off('device', listener);
      resolve();
    };
    registry.on('device', listener);
  });
}

process.on('message', (message: WorkerCommand) => {
  switch (message.cmd) {
    case 'run':
      void run(message.writer, message.own, message.shared);
      break;
    case 'stop':
      running = false;
      break;
    case 'register':
      void registry.register({ id: message.id }, { upsert: true }).then(() => send({ event: 'done', id: message.id }));
      break;
    case 'waitFor':
      void has(message.id).then(() => send({ event: 'done', id: message.id }));
      break;
    case 'snapshot':
      send({
        event: 'snapshot',
        devices: registry
          .snapshot()
          .devices.map((d) => ({ id: d.id, rev: d.rev ?? 0, attributes: { ...d.attributes } }))
          .sort((x, y) => x.id.localeCompare(y.id)),
      });
      break;
  }
});
process.on('disconnect', () => void registry.close().then(() => process.exit(0)));
