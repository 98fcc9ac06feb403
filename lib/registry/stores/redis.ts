import Redis, { type RedisOptions } from 'ioredis';
import { randomUUID } from 'crypto';
import { M2MError, errorMessage } from '../../errors';
import { defineScripts, type ScriptedRedis, type ScriptReply } from './redis-scripts';
import { KnownContent, parseDevice, readContent, RedisKeys, type RedisContent } from './redis-sync';
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
  private readonly keys: RedisKeys;
  /** What this instance's registry holds, to tell after a reconnect what it missed (or what Redis lost). */
  private readonly known = new KnownContent();
  /** The namespace's epoch when this instance loaded it; another one after a reconnect means Redis lost its data. */
  private epoch: string | null = null;
  /** Writes in flight, so that a change made from a record still being written waits for its revision. */
  private readonly pendingRevs = new WeakMap<StoredDevice, Promise<number>>();
  /** Changes from others held back while a load or resync reads Redis; applied after it, oldest first. */
  private held: ChangeMessage[] | undefined = [];
  private subscribed = false;
  private loaded = false;
  private closed = false;
  private needsResync = false;
  private resyncing = false;
  /** Writes sent and not yet answered: a resync waits for them, so that it reads after them. */
  private readonly inflight = new Set<Promise<unknown>>();
  private attemptFailed = false;
  private lastError: string | undefined;
  private warnedError: string | undefined;
  private failure: string | undefined;
  private status: StoreStatus = { state: 'connecting' };
  private connectedWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(private readonly options: RedisStoreOptions) {
    this.keys = new RedisKeys(`m2m:${options.namespace}`);
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
        this.epoch = data.epoch ?? (await this.claimEpoch());
        this.known.reset(data);
        this.loaded = true;
        this.needsResync = false;
        this.seenTimer = setInterval(() => void this.flushSeen(), this.options.seenFlushMs ?? 5000);
        this.seenTimer.unref();
        this.updateStatus();
        return { devices: data.devices, state: data.state };
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
      this.client.m2mPutDevice(
        this.keys.devices,
        this.keys.rev,
        this.keys.epoch,
        device.id,
        expected,
        JSON.stringify(record),
        prefix,
        this.keys.changes,
        this.epoch ?? '',
      ),
    );
    const rev = this.settle(device.id, expected, reply);
    device.rev = rev;
    // Unless a newer change by another instance has already arrived.
    if ((this.known.revOf(device.id) ?? -1) < rev) this.known.devices.set(device.id, device);
    return rev;
  }

  async deleteDevice(id: string, previous?: StoredDevice): Promise<void> {
    this.checkWritable();
    this.dirtySeen.delete(id);
    const expected = previous === undefined ? '' : String(await this.revisionOf(previous));
    const prefix = JSON.stringify({ origin: this.origin, kind: 'device', id, device: null }).slice(0, -1) + ',"rev":';
    const reply = await this.run(() =>
      this.client.m2mDeleteDevice(this.keys.devices, this.keys.seen, this.keys.rev, this.keys.epoch, id, expected, prefix, this.keys.changes, this.epoch ?? ''),
    );
    this.settle(id, expected, reply);
    this.known.devices.delete(id);
  }

  async putState(namespace: string, key: string, value: unknown): Promise<void> {
    this.checkWritable();
    const json = JSON.stringify(value);
    const message: ChangeMessage = { origin: this.origin, kind: 'state', namespace, key, value };
    await this.exec(
      this.client.multi().sadd(this.keys.namespaces, namespace).hset(this.keys.state(namespace), key, json).publish(this.keys.changes, JSON.stringify(message)),
    );
    this.known.setState(namespace, key, value);
  }

  async deleteState(namespace: string, key: string): Promise<void> {
    this.checkWritable();
    const message: ChangeMessage = { origin: this.origin, kind: 'state', namespace, key, value: null, deleted: true };
    await this.exec(this.client.multi().hdel(this.keys.state(namespace), key).publish(this.keys.changes, JSON.stringify(message)));
    this.known.state.get(namespace)?.delete(key);
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
      await this.subscriber.subscribe(this.keys.changes);
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

  /** Connected, and caught up after any reconnect. */
  private isCurrent(): boolean {
    return this.isConnected() && !(this.loaded && (this.needsResync || this.resyncing));
  }

  private updateStatus(): void {
    const state: StoreStatus['state'] = this.failure ? 'failed' : this.isCurrent() ? 'connected' : this.attemptFailed ? 'waiting' : 'connecting';
    const error = state === 'failed' ? this.failure : state === 'waiting' ? this.lastError : undefined;
    if (this.isConnected()) {
      this.warnedError = undefined;
      for (const waiter of this.connectedWaiters.splice(0)) waiter.resolve();
    }
    if (state === 'waiting' && error && error !== this.warnedError) {
      this.warnedError = error;
      this.warn(`Redis at ${redactUrl(this.options.url)} is not available (${error}); retrying`);
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
    // What a resync reads must not race this instance's own writes (it would take them for missed changes).
    if (this.resyncing) throw this.unavailable('the registry is catching up with Redis after a reconnect; nothing was stored: try again');
  }

  /** Runs a command; a connection lost on the way means the outcome is unknown, so resync afterwards. */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`Command timed out after ${WRITE_TIMEOUT_MS} ms`)), WRITE_TIMEOUT_MS);
    });
    const sent = Promise.race([command(), timeout]);
    this.inflight.add(sent);
    try {
      return await sent;
    } catch (err) {
      throw this.writeError(err);
    } finally {
      clearTimeout(timer);
      this.inflight.delete(sent);
    }
  }

  private writeError(err: unknown): M2MError {
    if (err instanceof M2MError) return err;
    const message = this.scrub(errorMessage(err));
    if (isConnectionError(err)) {
      // The write may or may not have been applied: find out from Redis as soon as it answers again.
      this.needsResync = true;
      this.updateStatus();
      this.resyncIfNeeded();
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

  /** The revision a change made from `previous` is based on: that of its own write once answered. */
  private async revisionOf(previous: StoredDevice): Promise<number> {
    const pending = this.pendingRevs.get(previous);
    if (pending) {
      try {
        return await pending;
      } catch {
        // Its write failed: it still carries the revision it was made from (a stale one is refused below).
      }
    }
    return previous.rev ?? 0;
  }

  /** The new revision of a successful write; on a conflict, the current record is handed to the registry first. */
  private settle(id: string, expected: string, [ok, value]: ScriptReply): number {
    if (ok === 1) return Number(value);
    if (ok === 2) {
      this.needsResync = true;
      this.updateStatus();
      this.resyncIfNeeded();
      throw this.unavailable(
        `Redis lost the registry's data (restarted without persistence?); this instance is restoring what it holds, nothing was stored: try again`,
      );
    }
    const current = typeof value === 'string' && value !== '' ? parseDevice(value) : null;
    if (current) this.known.devices.set(id, current);
    else this.known.devices.delete(id);
    this.emit({ kind: 'device', id, device: current });
    const found = current ? `revision ${current.rev ?? 0}` : 'no record';
    throw new M2MError(
      'VERSION_CONFLICT',
      `device ${id} was changed by another instance (Redis has ${found}, this change was made from ${expected === '' ? 'no record' : `revision ${expected}`}); the registry now holds the current record, try again`,
      { field: 'deviceId' },
    );
  }

  // ---- loading and resync -----------------------------------------------------------------------

  private readAll(): Promise<RedisContent> {
    return readContent(this.client, this.keys, this.warn);
  }

  /** Marks the namespace as in use (first instance wins) and returns its epoch. */
  private async claimEpoch(): Promise<string | null> {
    await this.client.set(this.keys.epoch, randomUUID(), 'NX');
    return this.client.get(this.keys.epoch);
  }

  private resyncIfNeeded(): void {
    if (!this.needsResync || !this.loaded || this.resyncing || this.closed || !this.isConnected()) return;
    void this.resync();
  }

  /**
   * Reloads everything and reports each difference to what this instance holds as a remote change. When
   * Redis lost its data (restarted without persistence: the epoch is gone or new), the instance first
   * puts back what it holds instead of taking the emptiness for removals.
   */
  private async resync(): Promise<void> {
    this.resyncing = true;
    this.needsResync = false;
    this.held ??= [];
    this.updateStatus();
    try {
      await Promise.allSettled([...this.inflight]);
      let data = await this.readAll();
      if (data.epoch !== this.epoch) {
        await this.restore();
        data = await this.readAll();
        this.epoch = data.epoch ?? (await this.claimEpoch());
      }
      for (const change of this.known.differences(data)) this.emit(change);
    } catch (err) {
      this.needsResync = true;
      if (!isConnectionError(err)) this.warn(`could not resync with Redis: ${errorMessage(err)}`);
    } finally {
      this.resyncing = false;
      this.releaseHeld();
    }
    this.updateStatus();
    this.resyncIfNeeded();
  }

  /** Puts back every device and state entry this instance holds that Redis no longer has. */
  private async restore(): Promise<void> {
    const devices = [...this.known.devices.values()];
    let states = 0;
    for (const entries of this.known.state.values()) states += entries.size;
    this.warn(
      `Redis lost the registry's data (restarted without persistence?): restoring ${devices.length} devices and ${states} state entries held by this instance`,
    );
    for (const device of devices) {
      const { rev = 0, ...record } = device;
      const prefix = JSON.stringify({ origin: this.origin, kind: 'device', id: device.id }).slice(0, -1) + ',"device":';
      await this.client.m2mRestoreDevice(this.keys.devices, this.keys.rev, device.id, JSON.stringify(record), String(rev), prefix, this.keys.changes);
    }
    for (const [namespace, entries] of this.known.state) {
      for (const [key, value] of entries) {
        const message: ChangeMessage = { origin: this.origin, kind: 'state', namespace, key, value };
        const json = JSON.stringify(value);
        await this.client.m2mRestoreState(this.keys.state(namespace), this.keys.namespaces, key, json, namespace, JSON.stringify(message), this.keys.changes);
      }
    }
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
      if (deleted) this.known.state.get(message.namespace)?.delete(message.key);
      else this.known.setState(message.namespace, message.key, message.value);
      this.emit({ kind: 'state', namespace: message.namespace, key: message.key, value: deleted ? undefined : message.value });
      return;
    }
    const rev = message.device ? message.device.rev : message.rev;
    const known = this.known.revOf(message.id);
    if (rev !== undefined && known !== undefined && rev <= known) return;
    if (message.device) this.known.devices.set(message.id, message.device);
    else if (known === undefined) return;
    else this.known.devices.delete(message.id);
    this.emit({ kind: 'device', id: message.id, device: message.device });
  }

  private emit(change: RemoteChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private async flushSeen(): Promise<void> {
    if (this.dirtySeen.size === 0 || this.client.status !== 'ready') return;
    const batch = new Map(this.dirtySeen);
    this.dirtySeen.clear();
    const pairs: Array<string | number> = [];
    for (const [id, seen] of batch) pairs.push(id, seen);
    try {
      await this.client.m2mMergeSeen(this.keys.seen, this.keys.devices, ...pairs);
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

async function quit(connection: Redis): Promise<void> {
  if (connection.status === 'ready') {
    await connection.quit().catch(() => connection.disconnect());
  } else {
    connection.disconnect();
  }
}
