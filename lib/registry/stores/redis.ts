import Redis, { type RedisOptions } from 'ioredis';
import { createHash, randomUUID } from 'crypto';
import { M2MError, errorMessage } from '../../errors';
import { defineScripts, type ScriptedRedis, type ScriptReply } from './redis-scripts';
import { redactUrl, secretScrubber } from './redis-secrets';
import type { LoadedData, RegistryStore, RemoteChange, StoredDevice, StoreStatus, StoreWarning } from './types';

export { redactUrl } from './redis-secrets';

export interface RedisStoreOptions {
  url: string;
  /** Keys are `m2m:<namespace>:…`, so several registries can share one Redis. */
  namespace: string;
  warn?: StoreWarning;
  seenFlushMs?: number;
}

type ChangeMessage =
  | { origin: string; kind: 'device'; id: string; device: StoredDevice | null; rev?: number }
  | { origin: string; kind: 'state'; namespace: string; key: string; value: unknown; deleted?: boolean };

/** Reconnect delays: 0.5 s, doubling, at most 30 s. */
export function retryDelay(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, Math.min(attempt - 1, 16)));
}

const CONNECTION_OPTIONS: RedisOptions = {
  lazyConnect: true,
  retryStrategy: retryDelay,
  // While disconnected a command fails at once instead of waiting in ioredis's offline queue, and a command
  // in flight when the connection drops fails too and is never re-sent later: nothing is reported stored
  // that was not, and nothing reported failed is applied behind the caller's back.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  // The subscription is renewed by this store, after which it resyncs (see onSubscriberReady).
  autoResubscribe: false,
  connectTimeout: 5000,
};

/** A write not answered within this time is reported failed (its outcome is then checked by a resync). */
const WRITE_TIMEOUT_MS = 10_000;

const CONNECTION_ERROR = /Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|Command timed out|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|socket/i;

/**
 * Devices and state in Redis hashes, with every change also published on a channel so that other
 * Node-RED instances using the same registry name follow it at once. The store waits for Redis (retrying
 * with backoff) instead of failing for good, refuses writes at once while Redis is away, and after any
 * reconnect reloads everything and reports what it missed, so instances converge.
 */
export class RedisStore implements RegistryStore {
  readonly kind = 'redis';
  private readonly origin = randomUUID();
  private readonly client: ScriptedRedis;
  private readonly subscriber: Redis;
  private readonly listeners: Array<(change: RemoteChange) => void> = [];
  private readonly statusListeners: Array<(status: StoreStatus) => void> = [];
  private readonly dirtySeen = new Map<string, number>();
  private seenTimer: NodeJS.Timeout | undefined;
  private readonly warn: StoreWarning;
  private readonly scrub: (text: string) => string;
  private readonly prefix: string;
  /** What this instance's registry holds, to tell after a reconnect what it missed. */
  private readonly knownRevs = new Map<string, number>();
  private readonly knownState = new Map<string, Map<string, string>>();
  /** Writes in flight, so that a change made from a record still being written waits for its revision. */
  private readonly pendingRevs = new WeakMap<StoredDevice, Promise<number>>();
  /** Changes from others held back while a load or resync reads Redis; applied after it, oldest first. */
  private held: ChangeMessage[] | undefined = [];
  private subscribed = false;
  private loaded = false;
  private closed = false;
  private needsResync = false;
  private resyncing = false;
  private attemptFailed = false;
  private lastError: string | undefined;
  private warnedError: string | undefined;
  private failure: string | undefined;
  private status: StoreStatus = { state: 'connecting' };
  private connectedWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(private readonly options: RedisStoreOptions) {
    this.prefix = `m2m:${options.namespace}`;
    this.scrub = secretScrubber(options.url);
    const warn = options.warn ?? (() => undefined);
    this.warn = (message) => warn(this.scrub(message));
    this.client = defineScripts(new Redis(options.url, CONNECTION_OPTIONS));
    this.subscriber = new Redis(options.url, CONNECTION_OPTIONS);
    for (const connection of [this.client, this.subscriber]) {
      connection.on('error', (err: Error) => {
        this.lastError = this.scrub(errorMessage(err));
      });
      connection.on('close', () => this.onClose(connection));
    }
    this.client.on('ready', () => {
      this.updateStatus();
      this.resyncIfNeeded();
    });
    this.subscriber.on('ready', () => void this.onSubscriberReady());
    this.subscriber.on('message', (_channel: string, text: string) => this.onMessage(text));
  }

  private key(suffix: string): string {
    return `${this.prefix}:${suffix}`;
  }

  /** The listener hears the current state at once, then every change. */
  onStatus(listener: (status: StoreStatus) => void): void {
    this.statusListeners.push(listener);
    listener(this.status);
  }

  onRemoteChange(listener: (change: RemoteChange) => void): void {
    this.listeners.push(listener);
    if (this.loaded && !this.resyncing) this.releaseHeld();
  }

  /** Resolves once Redis is reachable and loaded; until then it keeps retrying (close() ends the wait). */
  async load(): Promise<LoadedData> {
    this.client.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
    for (;;) {
      await this.whenConnected();
      try {
        const data = await this.readAll();
        this.remember(data);
        this.loaded = true;
        this.needsResync = false;
        this.seenTimer = setInterval(() => void this.flushSeen(), this.options.seenFlushMs ?? 5000);
        this.seenTimer.unref();
        this.updateStatus();
        return data;
      } catch (err) {
        if (this.closed) throw this.unavailable('the registry was closed before Redis could be read');
        if (isConnectionError(err)) continue; // dropped while reading: wait for the next connection
        this.failure = this.scrub(errorMessage(err));
        this.updateStatus();
        throw new M2MError('STORE_UNAVAILABLE', `could not load the registry from Redis at ${redactUrl(this.options.url)}: ${this.failure}`);
      }
    }
  }

  putDevice(device: StoredDevice, previous?: StoredDevice): Promise<void> {
    const written = this.writeDevice(device, previous);
    this.pendingRevs.set(device, written);
    // The revision is also read by later writes, which report their own failure.
    written.catch(() => undefined);
    return written.then(() => undefined);
  }

  private async writeDevice(device: StoredDevice, previous: StoredDevice | undefined): Promise<number> {
    this.checkWritable();
    const expected = previous === undefined ? '' : String(await this.revisionOf(previous));
    const { rev: _rev, ...record } = device;
    const prefix = JSON.stringify({ origin: this.origin, kind: 'device', id: device.id }).slice(0, -1) + ',"device":';
    const reply = await this.run(() =>
      this.client.m2mPutDevice(this.key('devices'), this.key('rev'), device.id, expected, JSON.stringify(record), prefix, this.key('changes')),
    );
    const rev = this.settle(device.id, expected, reply);
    device.rev = rev;
    return rev;
  }

  async deleteDevice(id: string, previous?: StoredDevice): Promise<void> {
    this.checkWritable();
    this.dirtySeen.delete(id);
    const expected = previous === undefined ? '' : String(await this.revisionOf(previous));
    const prefix = JSON.stringify({ origin: this.origin, kind: 'device', id, device: null }).slice(0, -1) + ',"rev":';
    const reply = await this.run(() =>
      this.client.m2mDeleteDevice(this.key('devices'), this.key('seen'), this.key('rev'), id, expected, prefix, this.key('changes')),
    );
    this.settle(id, expected, reply);
    this.knownRevs.delete(id);
  }

  async putState(namespace: string, key: string, value: unknown): Promise<void> {
    this.checkWritable();
    const json = JSON.stringify(value);
    const message: ChangeMessage = { origin: this.origin, kind: 'state', namespace, key, value };
    await this.exec(
      this.client
        .multi()
        .sadd(this.key('namespaces'), namespace)
        .hset(this.key(`state:${namespace}`), key, json)
        .publish(this.key('changes'), JSON.stringify(message)),
    );
    this.knownStateOf(namespace).set(key, digest(json));
  }

  async deleteState(namespace: string, key: string): Promise<void> {
    this.checkWritable();
    const message: ChangeMessage = { origin: this.origin, kind: 'state', namespace, key, value: null, deleted: true };
    await this.exec(this.client.multi().hdel(this.key(`state:${namespace}`), key).publish(this.key('changes'), JSON.stringify(message)));
    this.knownState.get(namespace)?.delete(key);
  }

  recordSeen(id: string, lastSeen: number): void {
    this.dirtySeen.set(id, lastSeen);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.seenTimer) clearInterval(this.seenTimer);
    for (const waiter of this.connectedWaiters.splice(0)) waiter.reject(this.unavailable('the registry was closed before Redis could be reached'));
    if (this.loaded) await this.flushSeen();
    await Promise.all([this.client, this.subscriber].map((connection) => quit(connection)));
  }

  // ---- connection state -------------------------------------------------------------------------

  private onClose(connection: Redis): void {
    if (connection === this.subscriber) {
      this.subscribed = false;
      // Changes published while the subscription is down are missed: reload once it is back.
      if (this.loaded) this.needsResync = true;
    }
    if (this.closed) return;
    this.attemptFailed = true;
    this.updateStatus();
  }

  private async onSubscriberReady(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.key('changes'));
    } catch {
      return; // the connection dropped again; the next `ready` subscribes
    }
    this.subscribed = true;
    this.updateStatus();
    this.resyncIfNeeded();
  }

  private isConnected(): boolean {
    return this.client.status === 'ready' && this.subscribed;
  }

  private updateStatus(): void {
    const state: StoreStatus['state'] = this.failure ? 'failed' : this.isConnected() ? 'connected' : this.attemptFailed ? 'waiting' : 'connecting';
    const error = state === 'failed' ? this.failure : state === 'waiting' ? this.lastError : undefined;
    if (state === 'connected') {
      this.warnedError = undefined;
      for (const waiter of this.connectedWaiters.splice(0)) waiter.resolve();
    }
    if (state === 'waiting' && error && error !== this.warnedError) {
      this.warnedError = error;
      this.warn(`Redis at ${redactUrl(this.options.url)} is not reachable (${error}); retrying`);
    }
    if (state === this.status.state && error === this.status.error) return;
    this.status = error === undefined ? { state } : { state, error };
    for (const listener of this.statusListeners) listener(this.status);
  }

  private whenConnected(): Promise<void> {
    if (this.closed) return Promise.reject(this.unavailable('the registry was closed before Redis could be reached'));
    if (this.isConnected()) return Promise.resolve();
    return new Promise((resolve, reject) => this.connectedWaiters.push({ resolve, reject }));
  }

  private unavailable(reason: string): M2MError {
    return new M2MError('STORE_UNAVAILABLE', reason);
  }

  private checkWritable(): void {
    if (!this.loaded) {
      throw this.unavailable(`the registry is waiting for Redis at ${redactUrl(this.options.url)}${this.lastError ? ` (${this.lastError})` : ''}`);
    }
    if (this.client.status !== 'ready') {
      throw this.unavailable(`Redis at ${redactUrl(this.options.url)} is not connected${this.lastError ? ` (${this.lastError})` : ''}; nothing was stored`);
    }
  }

  /** Runs a command; a connection lost on the way means the outcome is unknown, so resync afterwards. */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`Command timed out after ${WRITE_TIMEOUT_MS} ms`)), WRITE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([command(), timeout]);
    } catch (err) {
      throw this.writeError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  private writeError(err: unknown): M2MError {
    if (err instanceof M2MError) return err;
    const message = this.scrub(errorMessage(err));
    if (isConnectionError(err)) {
      this.needsResync = true;
      return this.unavailable(`Redis connection lost during the write (${message}); it was not acknowledged`);
    }
    return new M2MError('STORE_WRITE_FAILED', `could not write to Redis: ${message}`);
  }

  private async exec(multi: ReturnType<Redis['multi']>): Promise<void> {
    const results = await this.run(() => multi.exec());
    const failed = results?.find(([err]) => err);
    if (!results || failed) {
      throw new M2MError('STORE_WRITE_FAILED', `could not write to Redis: ${this.scrub(failed?.[0]?.message ?? 'transaction aborted')}`);
    }
  }

  // ---- revisions --------------------------------------------------------------------------------

  private async revisionOf(previous: StoredDevice): Promise<number> {
    const pending = this.pendingRevs.get(previous);
    return pending ? await pending : (previous.rev ?? 0);
  }

  /** The new revision of a successful write; on a conflict, the current record is handed to the registry first. */
  private settle(id: string, expected: string, [ok, value]: ScriptReply): number {
    if (ok === 1) {
      const rev = Number(value);
      if (rev > 0) this.knownRevs.set(id, rev);
      return rev;
    }
    const current = typeof value === 'string' && value !== '' ? parseDevice(value) : null;
    if (current) this.knownRevs.set(id, current.rev ?? 0);
    else this.knownRevs.delete(id);
    this.emit({ kind: 'device', id, device: current });
    const found = current ? `revision ${current.rev ?? 0}` : 'no record';
    throw new M2MError(
      'VERSION_CONFLICT',
      `device ${id} was changed by another instance (Redis has ${found}, this change was made from ${expected === '' ? 'no record' : `revision ${expected}`}); the registry now holds the current record, try again`,
      { field: 'deviceId' },
    );
  }

  // ---- loading and resync -----------------------------------------------------------------------

  private async readAll(): Promise<LoadedData> {
    const [deviceHash, seenHash, namespaces] = await Promise.all([
      this.client.hgetall(this.key('devices')),
      this.client.hgetall(this.key('seen')),
      this.client.smembers(this.key('namespaces')),
    ]);
    const devices: StoredDevice[] = [];
    for (const [id, json] of Object.entries(deviceHash)) {
      const device = parseDevice(json);
      if (!device || device.id !== id) {
        this.warn(`skipped the unreadable Redis record of device ${id}`);
        continue;
      }
      const seen = Number(seenHash[id]);
      if (seen > (device.lastSeen ?? 0)) device.lastSeen = seen;
      devices.push(device);
    }
    const state = new Map<string, Map<string, unknown>>();
    const hashes = await Promise.all(namespaces.map((namespace) => this.client.hgetall(this.key(`state:${namespace}`))));
    namespaces.forEach((namespace, i) => {
      const entries = new Map<string, unknown>();
      for (const [key, json] of Object.entries(hashes[i] ?? {})) {
        try {
          entries.set(key, JSON.parse(json) as unknown);
        } catch {
          this.warn(`skipped the unreadable Redis state ${namespace}/${key}`);
        }
      }
      state.set(namespace, entries);
    });
    return { devices, state };
  }

  private remember(data: LoadedData): void {
    this.knownRevs.clear();
    this.knownState.clear();
    for (const device of data.devices) this.knownRevs.set(device.id, device.rev ?? 0);
    for (const [namespace, entries] of data.state) {
      const known = this.knownStateOf(namespace);
      for (const [key, value] of entries) known.set(key, digest(JSON.stringify(value)));
    }
  }

  private resyncIfNeeded(): void {
    if (!this.needsResync || !this.loaded || this.resyncing || this.closed || !this.isConnected()) return;
    void this.resync();
  }

  /** Reloads everything and reports each difference to what this instance holds as a remote change. */
  private async resync(): Promise<void> {
    this.resyncing = true;
    this.needsResync = false;
    this.held ??= [];
    try {
      const data = await this.readAll();
      const seenIds = new Set<string>();
      for (const device of data.devices) {
        seenIds.add(device.id);
        const rev = device.rev ?? 0;
        if (this.knownRevs.get(device.id) === rev) continue;
        this.knownRevs.set(device.id, rev);
        this.emit({ kind: 'device', id: device.id, device });
      }
      for (const id of [...this.knownRevs.keys()]) {
        if (seenIds.has(id)) continue;
        this.knownRevs.delete(id);
        this.emit({ kind: 'device', id, device: null });
      }
      for (const [namespace, entries] of data.state) {
        const known = this.knownStateOf(namespace);
        for (const [key, value] of entries) {
          const hash = digest(JSON.stringify(value));
          if (known.get(key) === hash) continue;
          known.set(key, hash);
          this.emit({ kind: 'state', namespace, key, value });
        }
      }
      for (const [namespace, known] of this.knownState) {
        const entries = data.state.get(namespace);
        for (const key of [...known.keys()]) {
          if (entries?.has(key)) continue;
          known.delete(key);
          this.emit({ kind: 'state', namespace, key, value: undefined });
        }
      }
    } catch (err) {
      this.needsResync = true;
      if (!isConnectionError(err)) this.warn(`could not resync with Redis: ${errorMessage(err)}`);
    } finally {
      this.resyncing = false;
      this.releaseHeld();
    }
    this.resyncIfNeeded();
  }

  private releaseHeld(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const message of held) this.apply(message);
  }

  private onMessage(text: string): void {
    let message: ChangeMessage;
    try {
      message = JSON.parse(text) as ChangeMessage;
    } catch {
      return;
    }
    if (message.origin === this.origin) return;
    if (this.held) this.held.push(message);
    else this.apply(message);
  }

  /** Applies another instance's change unless this one already holds it (or something newer). */
  private apply(message: ChangeMessage): void {
    if (message.kind === 'state') {
      const deleted = message.deleted === true;
      if (deleted) this.knownState.get(message.namespace)?.delete(message.key);
      else this.knownStateOf(message.namespace).set(message.key, digest(JSON.stringify(message.value)));
      this.emit({ kind: 'state', namespace: message.namespace, key: message.key, value: deleted ? undefined : message.value });
      return;
    }
    const rev = message.device ? message.device.rev : message.rev;
    const known = this.knownRevs.get(message.id);
    if (rev !== undefined && known !== undefined && rev <= known) return;
    if (message.device) this.knownRevs.set(message.id, rev ?? 0);
    else if (known === undefined) return;
    else this.knownRevs.delete(message.id);
    this.emit({ kind: 'device', id: message.id, device: message.device });
  }

  private emit(change: RemoteChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private knownStateOf(namespace: string): Map<string, string> {
    let known = this.knownState.get(namespace);
    if (!known) this.knownState.set(namespace, (known = new Map()));
    return known;
  }

  private async flushSeen(): Promise<void> {
    if (this.dirtySeen.size === 0 || this.client.status !== 'ready') return;
    const batch = new Map(this.dirtySeen);
    this.dirtySeen.clear();
    const pairs: Array<string | number> = [];
    for (const [id, seen] of batch) pairs.push(id, seen);
    try {
      await this.client.m2mMergeSeen(this.key('seen'), this.key('devices'), ...pairs);
    } catch (err) {
      // Kept for the next flush, unless a newer time arrived meanwhile.
      for (const [id, seen] of batch) if ((this.dirtySeen.get(id) ?? 0) < seen) this.dirtySeen.set(id, seen);
      this.warn(`could not store last-seen times: ${errorMessage(err)}`);
    }
  }
}

function isConnectionError(err: unknown): boolean {
  return err instanceof M2MError ? err.code === 'STORE_UNAVAILABLE' : CONNECTION_ERROR.test(errorMessage(err));
}

function parseDevice(json: string): StoredDevice | null {
  try {
    const device = JSON.parse(json) as StoredDevice;
    if (device === null || typeof device !== 'object' || typeof device.id !== 'string') return null;
    device.rev = typeof device.rev === 'number' ? device.rev : 0;
    return device;
  } catch {
    return null;
  }
}

function digest(json: string): string {
  return createHash('sha1').update(json).digest('base64');
}

async function quit(connection: Redis): Promise<void> {
  if (connection.status === 'ready') {
    await connection.quit().catch(() => connection.disconnect());
  } else {
    connection.disconnect();
  }
}
