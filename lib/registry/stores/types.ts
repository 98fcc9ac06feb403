import type { DeviceRecord } from '../types';

/** A device as kept in a store: the public record minus the derived `online`, plus the credential hash. */
export type StoredDevice = Omit<DeviceRecord, 'online'> & {
  /** `scrypt$<salt>$<hash>`, base64url; absent when no credential was issued. */
  secret?: string;
  /**
   * Revision in a shared store (Redis): rises on every write there, and a write based on an older one is
   * refused (VERSION_CONFLICT). Set by the store; records written before revisions existed read as 0.
   */
  rev?: number;
};

export interface LoadedData {
  devices: StoredDevice[];
  /** namespace -> key -> value */
  state: Map<string, Map<string, unknown>>;
}

/** A change made by another registry instance sharing the store (Redis), so this one can follow it. */
export type RemoteChange = { kind: 'device'; id: string; device: StoredDevice | null } | { kind: 'state'; namespace: string; key: string; value: unknown };

/**
 * Where a registry keeps its data. Writes resolve only once the data is durable in that store;
 * `recordSeen` is best-effort and batched, because touches arrive far faster than any store can write.
 */
export interface RegistryStore {
  readonly kind: string;
  load(): Promise<LoadedData>;
  /** `previous` is the record the change was made from (undefined for a new device): a shared store refuses the write when it is stale. */
  putDevice(device: StoredDevice, previous?: StoredDevice): Promise<void>;
  deleteDevice(id: string, previous?: StoredDevice): Promise<void>;
  putState(namespace: string, key: string, value: unknown): Promise<void>;
  deleteState(namespace: string, key: string): Promise<void>;
  recordSeen(id: string, lastSeen: number): void;
  /** Called by a shared store when another instance changes something. */
  onRemoteChange?(listener: (change: RemoteChange) => void): void;
  /** Called by a store that can be unreachable (Redis) whenever its connection state changes. */
  onStatus?(listener: (status: StoreStatus) => void): void;
  close(): Promise<void>;
}

/** `waiting`: a connection attempt failed and the store keeps retrying; `failed`: it gave up (the load failed). */
export interface StoreStatus {
  state: 'connecting' | 'waiting' | 'connected' | 'failed';
  /** Why it is not connected, with any password removed. */
  error?: string;
}

export type StoreWarning = (message: string) => void;
