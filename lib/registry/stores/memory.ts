import type { LoadedData, RegistryStore, StoredDevice } from './types';

/**
 * Keeps everything in this process only. Instances are kept by key, so a registry that is redeployed
 * (closed and opened again with the same key) finds its devices and state still there.
 */
export class MemoryStore implements RegistryStore {
  readonly kind = 'memory';
  private static readonly byKey = new Map<string, MemoryStore>();
  private readonly devices = new Map<string, StoredDevice>();
  private readonly state = new Map<string, Map<string, unknown>>();

  /** The store kept under `key`, created when there is none; without a key, a fresh one. */
  static forKey(key?: string): MemoryStore {
    if (key === undefined) return new MemoryStore();
    let store = MemoryStore.byKey.get(key);
    if (!store) MemoryStore.byKey.set(key, (store = new MemoryStore()));
    return store;
  }

  /** Forgets the store kept under `key` (the registry was removed, not just redeployed). */
  static forget(key: string): void {
    MemoryStore.byKey.delete(key);
  }

  async load(): Promise<LoadedData> {
    const state = new Map<string, Map<string, unknown>>();
    for (const [namespace, entries] of this.state) state.set(namespace, new Map(entries));
    return { devices: [...this.devices.values()].map((d) => ({ ...d })), state };
  }
  async putDevice(device: StoredDevice): Promise<void> {
    this.devices.set(device.id, device);
  }
  async deleteDevice(id: string): Promise<void> {
    this.devices.delete(id);
  }
  async putState(namespace: string, key: string, value: unknown): Promise<void> {
    let entries = this.state.get(namespace);
    if (!entries) this.state.set(namespace, (entries = new Map()));
    entries.set(key, value);
  }
  async deleteState(namespace: string, key: string): Promise<void> {
    this.state.get(namespace)?.delete(key);
  }
  recordSeen(id: string, lastSeen: number): void {
    const device = this.devices.get(id);
    if (device) device.lastSeen = lastSeen;
  }
  async close(): Promise<void> {}
}
