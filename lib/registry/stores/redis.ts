import Redis from 'ioredis';
import { randomUUID } from 'crypto';
import { M2MError, errorMessage } from '../../errors';
import type { LoadedData, RegistryStore, RemoteChange, StoredDevice, StoreWarning } from './types';

export interface RedisStoreOptions {
  url: string;
  /** Keys are `m2m:<namespace>:…`, so several registries can share one Redis. */
  namespace: string;
  warn?: StoreWarning;
  seenFlushMs?: number;
}

type ChangeMessage =
  | { origin: string; kind: 'device'; id: string; device: StoredDevice | null }
  | { origin: string; kind: 'state'; namespace: string; key: string; value: unknown; deleted?: boolean };

/**
 * Devices and state in Redis hashes, with every change also published on a channel so that other
 * Node-RED instances using the same registry name follow it at once.
 */
export class RedisStore implements RegistryStore {
  readonly kind = 'redis';
  private readonly origin = randomUUID();
  private readonly client: Redis;
  private subscriber: Redis | undefined;
  private readonly listeners: Array<(change: RemoteChange) => void> = [];
  private readonly dirtySeen = new Map<string, number>();
  private seenTimer: NodeJS.Timeout | undefined;
  private readonly warn: StoreWarning;
  private readonly prefix: string;

  constructor(private readonly options: RedisStoreOptions) {
    this.prefix = `m2m:${options.namespace}`;
    this.warn = options.warn ?? (() => undefined);
    this.client = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
    this.client.on('error', (err: Error) => this.warn(`redis: ${err.message}`));
  }

  private key(suffix: string): string {
    return `${this.prefix}:${suffix}`;
  }

  async load(): Promise<LoadedData> {
    try {
      await this.client.connect();
    } catch (err) {
      throw new M2MError('STORE_UNAVAILABLE', `cannot reach Redis at ${redactUrl(this.options.url)}: ${errorMessage(err)}`);
    }
    await this.subscribe();
    const [deviceHash, seenHash, namespaces] = await Promise.all([
      this.client.hgetall(this.key('devices')),
      this.client.hgetall(this.key('seen')),
      this.client.smembers(this.key('namespaces')),
    ]);
    const devices: StoredDevice[] = [];
    for (const json of Object.values(deviceHash)) {
      const device = JSON.parse(json) as StoredDevice;
      const seen = Number(seenHash[device.id]);
      if (seen > (device.lastSeen ?? 0)) device.lastSeen = seen;
      devices.push(device);
    }
    const state = new Map<string, Map<string, unknown>>();
    for (const namespace of namespaces) {
      const entries = await this.client.hgetall(this.key(`state:${namespace}`));
      state.set(namespace, new Map(Object.entries(entries).map(([k, v]) => [k, JSON.parse(v) as unknown])));
    }
    const every = this.options.seenFlushMs ?? 5000;
    this.seenTimer = setInterval(() => void this.flushSeen(), every);
    this.seenTimer.unref();
    return { devices, state };
  }

  private async subscribe(): Promise<void> {
    this.subscriber = this.client.duplicate();
    this.subscriber.on('error', (err: Error) => this.warn(`redis subscriber: ${err.message}`));
    this.subscriber.on('message', (_channel: string, text: string) => {
      let message: ChangeMessage;
      try {
        message = JSON.parse(text) as ChangeMessage;
      } catch {
        return;
      }
      if (message.origin === this.origin) return;
      const change: RemoteChange =
        message.kind === 'device'
          ? { kind: 'device', id: message.id, device: message.device }
          : { kind: 'state', namespace: message.namespace, key: message.key, value: message.deleted ? undefined : message.value };
      for (const listener of this.listeners) listener(change);
    });
    await this.subscriber.subscribe(this.key('changes'));
  }

  onRemoteChange(listener: (change: RemoteChange) => void): void {
    this.listeners.push(listener);
  }

  async putDevice(device: StoredDevice): Promise<void> {
    const message: ChangeMessage = { origin: this.origin, kind: 'device', id: device.id, device };
    await this.exec(this.client.multi().hset(this.key('devices'), device.id, JSON.stringify(device)).publish(this.key('changes'), JSON.stringify(message)));
  }

  async deleteDevice(id: string): Promise<void> {
    this.dirtySeen.delete(id);
    const message: ChangeMessage = { origin: this.origin, kind: 'device', id, device: null };
    await this.exec(this.client.multi().hdel(this.key('devices'), id).hdel(this.key('seen'), id).publish(this.key('changes'), JSON.stringify(message)));
  }

  async putState(namespace: string, key: string, value: unknown): Promise<void> {
    const message: ChangeMessage = { origin: this.origin, kind: 'state', namespace, key, value };
    await this.exec(
      this.client
        .multi()
        .sadd(this.key('namespaces'), namespace)
        .hset(this.key(`state:${namespace}`), key, JSON.stringify(value))
        .publish(this.key('changes'), JSON.stringify(message)),
    );
  }

  async deleteState(namespace: string, key: string): Promise<void> {
    const message: ChangeMessage = { origin: this.origin, kind: 'state', namespace, key, value: null, deleted: true };
    await this.exec(this.client.multi().hdel(this.key(`state:${namespace}`), key).publish(this.key('changes'), JSON.stringify(message)));
  }

  recordSeen(id: string, lastSeen: number): void {
    this.dirtySeen.set(id, lastSeen);
  }

  private async flushSeen(): Promise<void> {
    if (this.dirtySeen.size === 0) return;
    const fields: Array<string | number> = [];
    for (const [id, seen] of this.dirtySeen) fields.push(id, seen);
    this.dirtySeen.clear();
    try {
      await this.client.hset(this.key('seen'), ...fields);
    } catch (err) {
      this.warn(`could not store last-seen times: ${errorMessage(err)}`);
    }
  }

  private async exec(multi: ReturnType<Redis['multi']>): Promise<void> {
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await multi.exec();
    } catch (err) {
      throw new M2MError('STORE_WRITE_FAILED', `could not write to Redis: ${errorMessage(err)}`, { cause: err });
    }
    const failed = results?.find(([err]) => err);
    if (!results || failed) {
      throw new M2MError('STORE_WRITE_FAILED', `could not write to Redis: ${failed?.[0]?.message ?? 'transaction aborted'}`);
    }
  }

  async close(): Promise<void> {
    if (this.seenTimer) clearInterval(this.seenTimer);
    await this.flushSeen();
    await Promise.all([this.client.quit().catch(() => undefined), this.subscriber?.quit().catch(() => undefined)]);
  }
}

/** Never print a password from a Redis URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}
