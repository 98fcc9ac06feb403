import type Redis from 'ioredis';
import type { LoadedData, RemoteChange, StoredDevice, StoreWarning } from './types';

/** The keys of one registry namespace: `m2m:<namespace>:…`. */
export class RedisKeys {
  readonly devices: string;
  readonly seen: string;
  readonly namespaces: string;
  /** Revision counter: every device write takes the next number. */
  readonly rev: string;
  /** Random id written when the namespace is first used: a different (or no) epoch means Redis lost its data. */
  readonly epoch: string;
  readonly changes: string;

  constructor(private readonly prefix: string) {
    this.devices = `${prefix}:devices`;
    this.seen = `${prefix}:seen`;
    this.namespaces = `${prefix}:namespaces`;
    this.rev = `${prefix}:rev`;
    this.epoch = `${prefix}:epoch`;
    this.changes = `${prefix}:changes`;
  }

  state(namespace: string): string {
    return `${this.prefix}:state:${namespace}`;
  }
}

export interface RedisContent extends LoadedData {
  epoch: string | null;
}

/** Everything of one namespace; unreadable records are skipped with a warning, never fatal. */
export async function readContent(client: Redis, keys: RedisKeys, warn: StoreWarning): Promise<RedisContent> {
  const [deviceHash, seenHash, namespaces, epoch] = await Promise.all([
    client.hgetall(keys.devices),
    client.hgetall(keys.seen),
    client.smembers(keys.namespaces),
    client.get(keys.epoch),
  ]);
  const devices: StoredDevice[] = [];
  for (const [id, json] of Object.entries(deviceHash)) {
    const device = parseDevice(json);
    if (!device || device.id !== id) {
      warn(`skipped the unreadable Redis record of device ${id}`);
      continue;
    }
    const seen = Number(seenHash[id]);
    if (seen > (device.lastSeen ?? 0)) device.lastSeen = seen;
    devices.push(device);
  }
  const hashes = await Promise.all(namespaces.map((namespace) => client.hgetall(keys.state(namespace))));
  const state = new Map<string, Map<string, unknown>>();
  namespaces.forEach((namespace, i) => {
    const entries = new Map<string, unknown>();
    for (const [key, json] of Object.entries(hashes[i] ?? {})) {
      try {
        entries.set(key, JSON.parse(json) as unknown);
      } catch {
        warn(`skipped the unreadable Redis state ${namespace}/${key}`);
      }
    }
    state.set(namespace, entries);
  });
  return { devices, state, epoch };
}

/** A stored device; records written before revisions existed read as rev 0. */
export function parseDevice(json: string): StoredDevice | null {
  try {
    const device = JSON.parse(json) as StoredDevice;
    if (device === null || typeof device !== 'object' || typeof device.id !== 'string') return null;
    device.rev = typeof device.rev === 'number' ? device.rev : 0;
    return device;
  } catch {
    return null;
  }
}

/**
 * What this instance's registry holds: the very objects it keeps (no copies), so that after a reconnect
 * the store can tell what was missed, and restore Redis if Redis lost its data.
 */
export class KnownContent {
  readonly devices = new Map<string, StoredDevice>();
  readonly state = new Map<string, Map<string, unknown>>();

  reset(data: LoadedData): void {
    this.devices.clear();
    this.state.clear();
    for (const device of data.devices) this.devices.set(device.id, device);
    for (const [namespace, entries] of data.state) this.state.set(namespace, new Map(entries));
  }

  revOf(id: string): number | undefined {
    const device = this.devices.get(id);
    return device && (device.rev ?? 0);
  }

  setState(namespace: string, key: string, value: unknown): void {
    let entries = this.state.get(namespace);
    if (!entries) this.state.set(namespace, (entries = new Map()));
    entries.set(key, value);
  }

  /** The changes that turn what is known into `data`, as remote changes; `known` is updated to match. */
  differences(data: LoadedData): RemoteChange[] {
    const changes: RemoteChange[] = [];
    const present = new Set<string>();
    for (const device of data.devices) {
      present.add(device.id);
      const known = this.revOf(device.id);
      // Revisions only rise: an equal one is what is held, a lower one cannot be newer.
      if (known !== undefined && (device.rev ?? 0) <= known) continue;
      this.devices.set(device.id, device);
      changes.push({ kind: 'device', id: device.id, device });
    }
    for (const id of [...this.devices.keys()]) {
      if (present.has(id)) continue;
      this.devices.delete(id);
      changes.push({ kind: 'device', id, device: null });
    }
    for (const [namespace, entries] of data.state) {
      const known = this.state.get(namespace);
      for (const [key, value] of entries) {
        if (known?.has(key) && JSON.stringify(known.get(key)) === JSON.stringify(value)) continue;
        this.setState(namespace, key, value);
        changes.push({ kind: 'state', namespace, key, value });
      }
    }
    for (const [namespace, known] of this.state) {
      const entries = data.state.get(namespace);
      for (const key of [...known.keys()]) {
        if (entries?.has(key)) continue;
        known.delete(key);
        changes.push({ kind: 'state', namespace, key, value: undefined });
      }
    }
    return changes;
  }
}
