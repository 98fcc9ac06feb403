// Real services (Mosquitto, Redis) are used when reachable, and required when CI=true; otherwise tests fall
// back to an in-process aedes broker, or skip the Redis-only suites.
import net from 'net';
import { AddressInfo } from 'net';

export const REQUIRE_SERVICES = process.env.CI === 'true';

export function reachable(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** Whether a suite needing the service on `port` should run; throws when CI requires it and it is down. */
export async function serviceAvailable(name: string, port: number): Promise<boolean> {
  const ok = await reachable(port);
  if (!ok && REQUIRE_SERVICES) throw new Error(`${name} on 127.0.0.1:${port} is required when CI=true but is not reachable`);
  return ok;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface TestBroker {
  url: string;
  port: number;
  /** 'mosquitto' when the real broker serves, 'aedes' for the in-process fallback. */
  kind: 'mosquitto' | 'aedes';
  close(): Promise<void>;
}

/** The real Mosquitto on 127.0.0.1:1883 when reachable (required when CI=true), else aedes on a free port. */
export async function startBroker(options: { preferReal?: boolean } = {}): Promise<TestBroker> {
  if (options.preferReal !== false && (await serviceAvailable('Mosquitto', 1883))) {
    return { url: 'mqtt://127.0.0.1:1883', port: 1883, kind: 'mosquitto', close: async () => undefined };
  }
  return startAedes();
}

export async function startAedes(port?: number): Promise<TestBroker> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createBroker } = require('aedes') as typeof import('aedes');
  const broker = createBroker();
  const listenPort = port ?? (await freePort());
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${listenPort}`,
    port: listenPort,
    kind: 'aedes',
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => server.close(() => resolve()));
      }),
  };
}
