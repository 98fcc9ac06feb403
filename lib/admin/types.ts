// What live nodes expose to the admin API (routes under /m2m/ on Node-RED's admin server), and its answers.
import type { StatusEvent } from '../command/types';
import type { JobProgress } from '../job/types';
import type { DeviceRecord } from '../registry/types';
import type { AlarmEvent, AlarmState } from '../rules/types';

export interface DeviceSearch {
  type?: string;
  tag?: string;
  online?: boolean;
  /** A case-insensitive substring of the device id or name. */
  q?: string;
  offset: number;
  limit: number;
}

export interface Page<T> {
  total: number;
  offset: number;
  items: T[];
}

/** An m2m-registry config node. */
export interface RegistrySource {
  id: string;
  name: string;
  storeKind(): string;
  counts(): { devices: number; online: number };
  search(query: DeviceSearch): { total: number; items: DeviceRecord[] };
  get(deviceId: string): DeviceRecord | undefined;
}

export type AlarmOp = 'ack' | 'shelve' | 'unshelve' | 'reset';

export interface AlarmControl {
  op: AlarmOp;
  deviceId: string;
  /** Omitted: every rule of the device (ack-all). */
  rule?: string;
  /** Seconds, for shelve; the node's default when omitted. */
  duration?: number;
  /** Who did it: the admin user's name, or `editor` without admin auth. */
  by: string;
}

/** An m2m-rule node. */
export interface AlarmSource {
  id: string;
  name: string;
  registryId?: string;
  ruleNames(): readonly string[];
  /** Active alarms, of one device or all. */
  list(deviceId?: string): AlarmState[];
  /** Whether the node has state for the device or its registry knows it. */
  knows(deviceId: string): boolean;
  /** The same transition as the control message, with the same events out of output 1. */
  control(request: AlarmControl): Promise<AlarmEvent[]>;
}

/** A command that has not ended: sent and waiting for its reply (or a retry), or queued for an offline device. */
export interface PendingCommand {
  id: string;
  deviceId: string;
  command: string;
  params: unknown;
  state: 'pending' | 'queued';
  attempts: number;
  createdAt: number;
  /** 0 when the command has no time to live. */
  expiresAt: number;
}

/** An m2m-command node. */
export interface CommandSource {
  id: string;
  name: string;
  registryId?: string;
  list(deviceId?: string): PendingCommand[];
  /** Ends the command with a `canceled` status event; undefined when it is not pending or queued. */
  cancel(commandId: string, by: string): StatusEvent | undefined;
}

/** An m2m-job node: its jobs' progress (running and ended, until deleted). */
export interface JobSource {
  id: string;
  name: string;
  registryId?: string;
  list(): JobProgress[];
}

export type SourceKind = 'devices' | 'alarms' | 'commands' | 'jobs';

export interface AlarmItem extends AlarmState {
  /** The m2m-rule node's id. */
  node: string;
}

export interface CommandItem extends PendingCommand {
  /** The m2m-command node's id. */
  node: string;
}

/** A job as the admin API lists it: its progress (counts per state, rate, expected end) and its node. */
export interface JobItem extends JobProgress {
  /** The job id (also `jobId`). */
  id: string;
  /** The m2m-job node's id. */
  node: string;
}
