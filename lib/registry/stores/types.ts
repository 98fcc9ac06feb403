import type { DeviceRecord } from '../types';

/** A device as kept in a store: the public record minus the derived `online`, plus the credential hash. */
export type StoredDevice = Omit<DeviceRecord, 'online'> & {
  /** `scrypt$<salt>$<hash>`, base64url; absent when no credential was issued. */
  secret?: string;
};

export interface LoadedData {
  devices: StoredDevice[];
  /** namespace -> key -> value */
  state: Map<string, Map<string, unknown>>;
}

/** A change made by another registry instance sharing the store (Redis), so this one can follow it. */
export type RemoteChange =
  | { kind: 'device'; id: string; device: StoredDevice | null }
  | { kind: 'state'; namespace: string; key: string; value: unknown };

/**
 * Where a registry keeps its data. Writes resolve only once the data is durable in that store;
 * `recordSeen` is best-effort and batched, because touches arrive far faster than any store can write.
 */
export interface RegistryStore {
  readonly kind: string;
  load(): Promise<LoadedData>;
  putDevice(device: StoredDevice): Promise<void>;
  deleteDevice(id: string): Promise<void>;
  putState(namespace: string, key: string, value: unknown): Promise<void>;
  deleteState(namespace: string, key: string): Promise<void>;
  recordSeen(id: string, lastSeen: number): void;
  /** Called by a shared store when another instance changes something. */
  onRemoteChange?(listener: (change: RemoteChange) => void): void;
  close(): Promise<void>;
}

export type StoreWarning = (message: string) => void;
