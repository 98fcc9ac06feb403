import type { JsonSchema } from '../schema';

/** A device as every node sees it. The credential hash never leaves the registry. */
export interface DeviceRecord {
  id: string;
  name: string;
  type: string;
  attributes: Record<string, unknown>;
  tags: string[];
  createdAt: number;
  updatedAt: number;
  lastSeen: number | null;
  online: boolean;
}

export interface CommandDefinition {
  /** JSON Schema of the command's parameters (`msg.payload` into m2m-command). */
  paramsSchema?: JsonSchema;
  description?: string;
}

export interface DeviceType {
  name: string;
  attributesSchema?: JsonSchema;
  telemetrySchema?: JsonSchema;
  commands?: Record<string, CommandDefinition>;
  /** JSON Schema the whole desired twin document must pass (m2m-twin `desire`). */
  desiredSchema?: JsonSchema;
  /** JSON Schema the whole reported twin document must pass, when given (m2m-twin `report`). */
  reportedSchema?: JsonSchema;
  /** A device is online while seen within this many ms; the registry default otherwise. */
  offlineTimeoutMs?: number;
  /**
   * The device sleeps and listens only right after it sends (LoRaWAN class A): m2m-command queues its commands,
   * without a reply timeout running, and sends them in order the moment it is next heard (touch, online).
   */
  sleepy?: boolean;
  /** Sleepy only: for this long after an uplink the device still listens, so a command goes out at once. Default 0. */
  listenWindowMs?: number;
  /** Sleepy only: a command without a time to live of its own waits at most this long for the device, then expires. */
  maxWaitMs?: number;
}

export type DeviceEventName = 'registered' | 'updated' | 'removed' | 'online' | 'offline';

export interface DeviceEvent {
  event: DeviceEventName;
  deviceId: string;
  device: DeviceRecord;
  ts: number;
}

export interface DeviceInput {
  id: string;
  name?: string;
  type?: string;
  attributes?: Record<string, unknown>;
  tags?: string[];
}

export interface DevicePatch {
  name?: string;
  type?: string;
  /** Merged into the existing attributes; a key set to null is removed. */
  attributes?: Record<string, unknown>;
  tags?: string[];
}

export interface ListFilter {
  type?: string;
  tag?: string;
  online?: boolean;
  /** 0-based page index and page size (default 100, at most 1000). */
  page?: number;
  pageSize?: number;
}

export interface DevicePage {
  devices: DeviceRecord[];
  total: number;
  page: number;
  pageSize: number;
}

/**
 * A namespaced, persisted key/value map that other parts (alarm state, pending commands) keep in the
 * registry's store, so it survives a restart and is shared like the devices are.
 * Values must be JSON-serialisable. Reads are synchronous from memory; writes resolve once stored.
 */
export interface StateMap {
  get(key: string): unknown;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  keys(): string[];
}

export interface DeviceRegistryApi {
  readonly name: string;
  /** Resolves once the store is loaded; every other call may be made after it. */
  ready(): Promise<void>;
  /** Resolves once the store is loaded, however long it takes to become reachable: for start-up work, never per message. */
  whenLoaded(): Promise<void>;
  get(id: string): DeviceRecord | undefined;
  has(id: string): boolean;
  getType(name: string): DeviceType | undefined;
  isOnline(id: string): boolean;
  register(input: DeviceInput, options?: { upsert?: boolean; issueToken?: boolean }): Promise<{ device: DeviceRecord; token?: string; created: boolean }>;
  update(id: string, patch: DevicePatch): Promise<DeviceRecord>;
  remove(id: string): Promise<DeviceRecord>;
  list(filter?: ListFilter): DevicePage;
  /** How many devices there are and how many are online, without listing them. */
  counts(): { devices: number; online: number };
  /** Marks the device seen now. With autoRegister an unknown id is registered (with `type`); otherwise it throws. */
  touch(id: string, options?: { autoRegister?: boolean; type?: string }): Promise<DeviceRecord>;
  /** touch of a device already known (store loaded), synchronously, for the per-message path; undefined when it is not known. */
  touchKnown(id: string): DeviceRecord | undefined;
  verify(id: string, token: string): Promise<boolean>;
  /** Marks a device online now (connect event, birth); true when it was offline, and `online` was emitted. */
  markOnline(id: string, at?: number): boolean;
  /** Marks a device offline now (last will, disconnect event, death); true when it was online, and `offline` was emitted. Kept across a restart until the device is heard again. */
  markOffline(id: string, at?: number): boolean;
  /** Resolves once the device's last offline mark (or its clearing) is stored; never rejects. */
  presenceStored(id: string): Promise<void>;
  /** Calls the listener with the device id on every uplink (touch) of a known device; returns the unsubscribe. */
  onSeen(listener: (deviceId: string) => void): () => void;
  /** True when the device has a credential (a token was issued); for provisioning's pre-provisioned policy. */
  hasCredential(id: string): boolean;
  state(namespace: string): Promise<StateMap>;
  on(event: 'device', listener: (e: DeviceEvent) => void): this;
  off(event: 'device', listener: (e: DeviceEvent) => void): this;
}
