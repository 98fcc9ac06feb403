import { EventEmitter } from 'events';
import { M2MError } from '../errors';
import { checkDeviceId } from '../ids';
import { hashToken, needsRehash, newToken, verifyToken } from './credentials';
import type { RemoteChange, RegistryStore, StoredDevice, StoreStatus } from './stores/types';
import type {
  DeviceEvent,
  DeviceEventName,
  DeviceInput,
  DevicePage,
  DevicePatch,
  DeviceRecord,
  DeviceRegistryApi,
  DeviceType,
  ListFilter,
  StateMap,
} from './types';
import { checkAttributes, checkListFilter, checkName, checkRegistryTiming, checkTags, checkType, compileTypeSchemas, validateAttributes } from './validate';

export interface RegistryOptions {
  name: string;
  store: RegistryStore;
  types?: DeviceType[];
  /** A device is online while seen within this many ms, unless its type says otherwise. Default 5 minutes. */
  defaultOfflineTimeoutMs?: number;
  /** How often online devices are checked for going silent. Default: a tenth of the shortest timeout, 50 ms to 1 s. */
  sweepMs?: number;
  warn?: (message: string) => void;
}

export const DEFAULT_OFFLINE_TIMEOUT_MS = 5 * 60 * 1000;

/** The state namespace holding each device's last explicit offline mark (markOffline), so a restart keeps it. */
export const PRESENCE_NAMESPACE = 'presence';
/** Format of a stored offline mark. */
export const PRESENCE_RECORD_VERSION = 1;

/**
 * The device registry: devices and device types in memory for fast reads, every change written through
 * to the store before it is acknowledged, and online/offline transitions emitted once each.
 */
export class DeviceRegistry extends EventEmitter implements DeviceRegistryApi {
  readonly name: string;
  private readonly store: RegistryStore;
  private readonly types = new Map<string, DeviceType>();
  private readonly devices = new Map<string, StoredDevice>();
  private readonly online = new Set<string>();
  private readonly stateMaps = new Map<string, Map<string, unknown>>();
  /** deviceId -> when it was marked offline (markOffline); cleared when it is heard again. */
  private readonly offlineMarks = new Map<string, number>();
  /** The latest write of each device's offline mark, until it is stored. */
  private readonly presenceWrites = new Map<string, Promise<void>>();
  // An array, not a Set: it is walked on every uplink and changed almost never.
  private seenListeners: Array<(deviceId: string) => void> = [];
  private readonly defaultTimeout: number;
  private readonly warn: ((message: string) => void) | undefined;
  private readonly sweepMs: number;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly loading: Promise<void>;
  private closed = false;
  private loaded = false;
  private storeStatus: StoreStatus | undefined;

  constructor(options: RegistryOptions) {
    super();
    try {
      checkRegistryTiming(options);
      compileTypeSchemas(options.types ?? []);
    } catch (err) {
      // The registry owns its store (close() closes it); refused here, nothing else would close it.
      options.store.close().catch(() => undefined);
      throw err;
    }
    this.name = options.name;
    this.warn = options.warn;
    this.store = options.store;
    for (const type of options.types ?? []) this.types.set(type.name, type);
    this.defaultTimeout = options.defaultOfflineTimeoutMs ?? DEFAULT_OFFLINE_TIMEOUT_MS;
    const shortest = Math.min(this.defaultTimeout, ...[...this.types.values()].map((t) => t.offlineTimeoutMs ?? Infinity));
    this.sweepMs = options.sweepMs ?? Math.min(1000, Math.max(50, Math.floor(shortest / 10)));
    // A store that can be unreachable (Redis) reports it; the m2m-registry node shows it on its badge.
    this.store.onStatus?.((status) => {
      this.storeStatus = status;
      this.emit('store', status);
    });
    this.loading = this.load();
    // A failed load is reported by ready(); keep it from being an unhandled rejection meanwhile.
    this.loading.catch(() => undefined);
  }

  private async load(): Promise<void> {
    const data = await this.store.load();
    const now = Date.now();
    for (const device of data.devices) {
      this.devices.set(device.id, device);
      if (device.lastSeen !== null && now - device.lastSeen <= this.timeoutOf(device)) this.online.add(device.id);
    }
    for (const [namespace, entries] of data.state) this.stateMaps.set(namespace, entries);
    this.loadOfflineMarks();
    this.loaded = true;
    this.store.onRemoteChange?.((change) => this.applyRemote(change));
    if (!this.closed) {
      this.sweepTimer = setInterval(() => this.sweep(), this.sweepMs);
      this.sweepTimer.unref?.();
    }
  }

  /**
   * Resolves once the store is loaded. While a store that was tried cannot be reached (Redis down at start)
   * it rejects at once with STORE_UNAVAILABLE, so a message fails promptly instead of hanging; the load
   * carries on, and callers that asked before the first attempt failed are resolved when it succeeds.
   */
  ready(): Promise<void> {
    if (!this.loaded && this.storeStatus?.state === 'waiting') {
      return Promise.reject(
        new M2MError('STORE_UNAVAILABLE', `the registry's store is not reachable yet${this.storeStatus.error ? ` (${this.storeStatus.error})` : ''}; retrying`),
      );
    }
    return this.loading;
  }

  /** The connection state of a store that can be unreachable (Redis); undefined for the others. */
  get storeState(): StoreStatus | undefined {
    return this.storeStatus;
  }

  /** Resolves once the store is loaded, however long it takes to become reachable: for start-up work, never per message. */
  whenLoaded(): Promise<void> {
    return this.loading;
  }

  get storeKind(): string {
    return this.store.kind;
  }

  deviceCount(): number {
    return this.devices.size;
  }

  counts(): { devices: number; online: number } {
    return { devices: this.devices.size, online: this.online.size };
  }

  get(id: string): DeviceRecord | undefined {
    const device = this.devices.get(id);
    return device && this.toRecord(device);
  }

  has(id: string): boolean {
    return this.devices.has(id);
  }

  getType(name: string): DeviceType | undefined {
    return this.types.get(name);
  }

  listTypes(): DeviceType[] {
    return [...this.types.values()];
  }

  isOnline(id: string): boolean {
    return this.online.has(id);
  }

  async register(
    input: DeviceInput,
    options: { upsert?: boolean; issueToken?: boolean } = {},
  ): Promise<{ device: DeviceRecord; token?: string; created: boolean }> {
    const id = checkDeviceId(input?.id, 'deviceId');
    const existing = this.devices.get(id);
    if (existing && !options.upsert) {
      throw new M2MError('DEVICE_EXISTS', `device ${id} is already registered (allow upsert to update it)`, { field: 'deviceId' });
    }
    const type = checkType(input.type ?? existing?.type, this.types);
    const attributes = input.attributes === undefined ? (existing?.attributes ?? {}) : freezeDeep(structuredClone(checkAttributes(input.attributes)));
    validateAttributes(this.types.get(type), attributes);
    const name = checkName(input.name ?? existing?.name ?? id);
    const tags = input.tags === undefined ? (existing?.tags ?? []) : checkTags(input.tags);
    const token = options.issueToken ? newToken() : undefined;
    const secret = token ? hashToken(token) : existing?.secret;
    // Re-check: another call may have registered the same id meanwhile.
    const current = this.devices.get(id);
    if (current !== existing) {
      throw new M2MError('DEVICE_EXISTS', `device ${id} was registered concurrently; try again`, { field: 'deviceId' });
    }
    const now = Date.now();
    const device: StoredDevice = {
      id,
      name,
      type,
      attributes,
      tags,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      lastSeen: existing?.lastSeen ?? null,
    };
    if (secret) device.secret = secret;
    await this.write(id, device, existing);
    const record = this.toRecord(device);
    this.emitEvent(existing ? 'updated' : 'registered', record);
    return { device: record, token, created: !existing };
  }

  async update(id: string, patch: DevicePatch): Promise<DeviceRecord> {
    checkDeviceId(id, 'deviceId');
    const existing = this.require(id);
    if (patch === null || typeof patch !== 'object') throw new M2MError('INVALID_FIELD', 'the update must be an object', { field: 'payload' });
    const type = patch.type === undefined ? existing.type : checkType(patch.type, this.types);
    let attributes = existing.attributes;
    if (patch.attributes !== undefined) {
      const merged: Record<string, unknown> = { ...existing.attributes };
      for (const [key, value] of Object.entries(checkAttributes(patch.attributes))) {
        if (value === null) delete merged[key];
        else merged[key] = structuredClone(value);
      }
      attributes = freezeDeep(merged);
    }
    validateAttributes(this.types.get(type), attributes);
    const device: StoredDevice = {
      ...existing,
      name: patch.name === undefined ? existing.name : checkName(patch.name),
      type,
      attributes,
      tags: patch.tags === undefined ? existing.tags : checkTags(patch.tags),
      updatedAt: Date.now(),
    };
    await this.write(id, device, existing);
    const record = this.toRecord(device);
    this.emitEvent('updated', record);
    return record;
  }

  async remove(id: string): Promise<DeviceRecord> {
    checkDeviceId(id, 'deviceId');
    const existing = this.require(id);
    const record = this.toRecord(existing);
    await this.write(id, undefined, existing);
    this.emitEvent('removed', { ...record, online: false });
    return { ...record, online: false };
  }

  list(filter: ListFilter = {}): DevicePage {
    const { page, pageSize } = checkListFilter(filter);
    const matches: StoredDevice[] = [];
    for (const device of this.devices.values()) {
      if (filter.type !== undefined && device.type !== filter.type) continue;
      if (filter.tag !== undefined && !device.tags.includes(filter.tag)) continue;
      if (filter.online !== undefined && this.online.has(device.id) !== filter.online) continue;
      matches.push(device);
    }
    const devices = matches.slice(page * pageSize, (page + 1) * pageSize).map((d) => this.toRecord(d));
    return { devices, total: matches.length, page, pageSize };
  }

  /**
   * A page for the admin API: devices matching the filter and `q` (a case-insensitive substring of id or name),
   * `limit` of them from `offset`, in registration order (online=true: in the order they came online, walking
   * only the online devices). One pass that copies only the devices on the page.
   */
  search(query: { type?: string; tag?: string; online?: boolean; q?: string; offset: number; limit: number }): { total: number; items: DeviceRecord[] } {
    const text = query.q === undefined ? undefined : new RegExp(query.q.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'), 'i');
    const end = query.offset + query.limit;
    const items: DeviceRecord[] = [];
    let total = 0;
    const candidates = query.online === true ? this.onlineDevices() : this.devices.values();
    for (const device of candidates) {
      if (query.type !== undefined && device.type !== query.type) continue;
      if (query.tag !== undefined && !device.tags.includes(query.tag)) continue;
      if (query.online === false && this.online.has(device.id)) continue;
      if (text !== undefined && !text.test(device.id) && !text.test(device.name)) continue;
      if (total >= query.offset && total < end) items.push(this.toRecord(device));
      total++;
    }
    return { total, items };
  }

  private *onlineDevices(): Iterable<StoredDevice> {
    for (const id of this.online) {
      const device = this.devices.get(id);
      if (device) yield device;
    }
  }

  async touch(id: string, options: { autoRegister?: boolean; type?: string } = {}): Promise<DeviceRecord> {
    const device = this.markSeen(id);
    if (device) return this.toRecord(device);
    checkDeviceId(id, 'deviceId');
    if (!options.autoRegister) throw new M2MError('DEVICE_NOT_FOUND', `device ${id} is not registered`, { field: 'deviceId' });
    try {
      await this.register({ id, type: options.type });
    } catch (err) {
      // Two touches of a new device at once, here or on another instance sharing the store: the other one registered it.
      if (!(err instanceof M2MError && (err.code === 'DEVICE_EXISTS' || err.code === 'VERSION_CONFLICT'))) throw err;
    }
    return this.toRecord(this.markSeen(id) as StoredDevice);
  }

  touchKnown(id: string): DeviceRecord | undefined {
    const device = this.markSeen(id);
    return device && this.toRecord(device);
  }

  /** The hot path of touch: marks a known device seen and emits `online` on the transition. */
  markSeen(id: string): StoredDevice | undefined {
    const device = this.devices.get(id);
    if (!device) return undefined;
    const now = Date.now();
    device.lastSeen = now;
    this.store.recordSeen(id, now);
    if (!this.online.has(id)) {
      this.clearOfflineMark(id);
      this.online.add(id);
      this.emitEvent('online', this.toRecord(device));
    }
    const listeners = this.seenListeners;
    for (let i = 0; i < listeners.length; i++) listeners[i](id);
    return device;
  }

  /**
   * Marks a device online now (a broker's connect event, a Sparkplug birth): it counts as seen at `at`
   * (default now) and `online` is emitted if it was offline. True when that transition happened. A mark older
   * than the device's last offline mark is stale and changes nothing. The offline timer still applies afterwards.
   */
  markOnline(id: string, at?: number): boolean {
    const device = this.require(checkDeviceId(id, 'deviceId'));
    const when = checkPresenceTime(at);
    const offlineAt = this.offlineMarks.get(id);
    if (at !== undefined && offlineAt !== undefined && when < offlineAt) return false;
    if (when > (device.lastSeen ?? 0)) {
      device.lastSeen = when;
      this.store.recordSeen(id, when);
    }
    if (this.online.has(id)) return false;
    this.clearOfflineMark(id);
    this.online.add(id);
    this.emitEvent('online', this.toRecord(device));
    return true;
  }

  /**
   * Marks a device offline now (an MQTT last will, a broker's disconnect event, a Sparkplug death), without
   * waiting for the offline timeout: `offline` is emitted if it was online, and true returned. The mark is
   * stored, so the device stays offline after a restart until it is heard again. A mark at `at` older than the
   * device's last uplink is stale (it was heard since) and changes nothing.
   */
  markOffline(id: string, at?: number): boolean {
    const device = this.require(checkDeviceId(id, 'deviceId'));
    const when = checkPresenceTime(at);
    if (at !== undefined && device.lastSeen !== null && when < device.lastSeen) return false;
    const wasOnline = this.online.delete(id);
    if (!wasOnline && this.offlineMarks.has(id)) return false;
    // Stored even when it was already offline by the timer: the mark is what keeps it offline after a restart.
    this.setOfflineMark(id, when);
    if (wasOnline) this.emitEvent('offline', this.toRecord(device));
    return wasOnline;
  }

  /** Calls `listener` with the device id on every uplink of a known device (touch), after any `online` event. */
  onSeen(listener: (deviceId: string) => void): () => void {
    this.seenListeners = [...this.seenListeners, listener];
    return () => {
      this.seenListeners = this.seenListeners.filter((l) => l !== listener);
    };
  }

  private loadOfflineMarks(): void {
    const marks = this.stateMaps.get(PRESENCE_NAMESPACE);
    if (!marks) return;
    for (const [id, value] of marks) {
      const offlineAt = readOfflineMark(value);
      if (offlineAt === undefined) continue;
      this.offlineMarks.set(id, offlineAt);
      const device = this.devices.get(id);
      if (device && offlineAt >= (device.lastSeen ?? 0)) this.online.delete(id);
    }
  }

  private setOfflineMark(id: string, offlineAt: number): void {
    this.offlineMarks.set(id, offlineAt);
    this.presenceMap().set(id, { v: PRESENCE_RECORD_VERSION, offlineAt });
    this.trackPresenceWrite(id, this.store.putState(PRESENCE_NAMESPACE, id, { v: PRESENCE_RECORD_VERSION, offlineAt }));
  }

  private clearOfflineMark(id: string): void {
    if (!this.offlineMarks.delete(id)) return;
    this.stateMaps.get(PRESENCE_NAMESPACE)?.delete(id);
    this.trackPresenceWrite(id, this.store.deleteState(PRESENCE_NAMESPACE, id));
  }

  /**
   * Resolves once the device's last presence mark is in the store (at once when nothing is being written). It
   * never rejects: a mark that could not be stored holds in memory, and the registry warns.
   */
  presenceStored(id: string): Promise<void> {
    return this.presenceWrites.get(id) ?? Promise.resolve();
  }

  private trackPresenceWrite(id: string, write: Promise<void>): void {
    const settled: Promise<void> = write.catch(this.presenceWriteFailed).finally(() => {
      if (this.presenceWrites.get(id) === settled) this.presenceWrites.delete(id);
    });
    this.presenceWrites.set(id, settled);
  }

  private presenceMap(): Map<string, unknown> {
    let map = this.stateMaps.get(PRESENCE_NAMESPACE);
    if (!map) this.stateMaps.set(PRESENCE_NAMESPACE, (map = new Map()));
    return map;
  }

  private readonly presenceWriteFailed = (err: unknown): void => {
    this.warn?.(`a device's presence mark could not be stored (it holds in memory): ${err instanceof Error ? err.message : String(err)}`);
  };

  async verify(id: string, token: string): Promise<boolean> {
    checkDeviceId(id, 'deviceId');
    if (typeof token !== 'string' || token === '') throw new M2MError('INVALID_FIELD', 'token must be a non-empty string', { field: 'token' });
    const secret = this.devices.get(id)?.secret;
    const verified = await verifyToken(token, secret);
    if (verified && needsRehash(secret)) await this.rehashSecret(id, secret as string, token);
    return verified;
  }

  hasCredential(id: string): boolean {
    return this.devices.get(id)?.secret !== undefined;
  }

  /** Replaces an old slow hash with the current scheme once the token is known good; retried on the next verify if the write fails. */
  private async rehashSecret(id: string, oldSecret: string, token: string): Promise<void> {
    const current = this.devices.get(id);
    if (current?.secret !== oldSecret) return;
    await this.write(id, { ...current, secret: hashToken(token) }, current).catch(() => undefined);
  }

  async state(namespace: string): Promise<StateMap> {
    await this.loading;
    const entries = (): Map<string, unknown> => {
      let map = this.stateMaps.get(namespace);
      if (!map) this.stateMaps.set(namespace, (map = new Map()));
      return map;
    };
    return {
      get: (key) => this.stateMaps.get(namespace)?.get(key),
      keys: () => [...(this.stateMaps.get(namespace)?.keys() ?? [])],
      set: async (key, value) => {
        entries().set(key, value);
        await this.store.putState(namespace, key, value);
      },
      delete: async (key) => {
        if (!this.stateMaps.get(namespace)?.delete(key)) return;
        await this.store.deleteState(namespace, key);
      },
    };
  }

  /** Everything the store needs to write a snapshot. */
  snapshot(): { devices: StoredDevice[]; state: Map<string, Map<string, unknown>> } {
    return { devices: [...this.devices.values()], state: this.stateMaps };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    // A store that can be unreachable (it reports a status) ends a load still waiting for it when it closes.
    if (!this.storeStatus) await this.loading.catch(() => undefined);
    await this.store.close();
    await this.loading.catch(() => undefined);
    this.removeAllListeners();
  }

  private require(id: string): StoredDevice {
    const device = this.devices.get(id);
    if (!device) throw new M2MError('DEVICE_NOT_FOUND', `device ${id} is not registered`, { field: 'deviceId' });
    return device;
  }

  /** Applies a change in memory, then stores it; on a failed write the memory change is undone. */
  private async write(id: string, next: StoredDevice | undefined, previous: StoredDevice | undefined): Promise<void> {
    this.setInMemory(id, next);
    try {
      if (next) await this.store.putDevice(next, previous);
      else await this.store.deleteDevice(id, previous);
    } catch (err) {
      if (this.devices.get(id) === next) this.setInMemory(id, previous);
      throw err;
    }
  }

  private setInMemory(id: string, device: StoredDevice | undefined): void {
    if (device) {
      this.devices.set(id, device);
    } else {
      this.devices.delete(id);
      this.online.delete(id);
      this.clearOfflineMark(id);
    }
  }

  private applyRemote(change: RemoteChange): void {
    if (change.kind === 'state') {
      const map = this.stateMaps.get(change.namespace) ?? new Map<string, unknown>();
      this.stateMaps.set(change.namespace, map);
      if (change.value === undefined) map.delete(change.key);
      else map.set(change.key, change.value);
      if (change.namespace === PRESENCE_NAMESPACE) this.applyRemoteMark(change.key, change.value);
      return;
    }
    const existing = this.devices.get(change.id);
    if (!change.device) {
      if (!existing) return;
      const record = this.toRecord(existing);
      this.setInMemory(change.id, undefined);
      this.emitEvent('removed', { ...record, online: false });
      return;
    }
    if (existing && (existing.lastSeen ?? 0) > (change.device.lastSeen ?? 0)) change.device.lastSeen = existing.lastSeen;
    this.setInMemory(change.id, change.device);
    this.emitEvent(existing ? 'updated' : 'registered', this.toRecord(change.device));
  }

  /** Another instance marked a device offline (or it was heard there, clearing the mark): follow it. */
  private applyRemoteMark(id: string, value: unknown): void {
    const offlineAt = readOfflineMark(value);
    if (offlineAt === undefined) {
      this.offlineMarks.delete(id);
      return;
    }
    this.offlineMarks.set(id, offlineAt);
    const device = this.devices.get(id);
    if (device && offlineAt >= (device.lastSeen ?? 0) && this.online.delete(id)) this.emitEvent('offline', this.toRecord(device));
  }

  private timeoutOf(device: StoredDevice): number {
    return (device.type && this.types.get(device.type)?.offlineTimeoutMs) || this.defaultTimeout;
  }

  /** Emits `offline` once for each online device that has been silent longer than its timeout. */
  private sweep(): void {
    const now = Date.now();
    for (const id of this.online) {
      const device = this.devices.get(id);
      if (!device) {
        this.online.delete(id);
        continue;
      }
      if (now - (device.lastSeen ?? 0) > this.timeoutOf(device)) {
        this.online.delete(id);
        this.emitEvent('offline', this.toRecord(device));
      }
    }
  }

  private emitEvent(event: DeviceEventName, device: DeviceRecord): void {
    const e: DeviceEvent = { event, deviceId: device.id, device, ts: Date.now() };
    this.emit('device', e);
  }

  private toRecord(device: StoredDevice): DeviceRecord {
    return {
      id: device.id,
      name: device.name,
      type: device.type,
      attributes: { ...device.attributes },
      tags: [...device.tags],
      createdAt: device.createdAt,
      updatedAt: device.updatedAt,
      lastSeen: device.lastSeen,
      online: this.online.has(device.id),
    };
  }
}

/** The time of an offline mark from the store; undefined for anything this release cannot read. */
function readOfflineMark(value: unknown): number | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { v, offlineAt } = value as { v?: unknown; offlineAt?: unknown };
  return v === PRESENCE_RECORD_VERSION && typeof offlineAt === 'number' && Number.isFinite(offlineAt) ? offlineAt : undefined;
}

/** The time of a mark: now by default; a time ahead of this clock (a broker's clock running fast) counts as now. */
function checkPresenceTime(at: unknown): number {
  if (at === undefined) return Date.now();
  if (typeof at !== 'number' || !Number.isFinite(at) || at < 0) {
    throw new M2MError('INVALID_FIELD', 'the time of a presence mark must be a number of milliseconds since 1970', { field: 'at' });
  }
  return Math.min(at, Date.now());
}

// Stored attributes are frozen so that the shallow copies handed out cannot change nested values in the registry.
function freezeDeep<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) freezeDeep(child);
  }
  return value;
}
