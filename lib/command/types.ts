import type { JsonSchema } from '../schema';

export type CommandStatus = 'queued' | 'sent' | 'succeeded' | 'failed' | 'timeout' | 'expired' | 'rejected' | 'canceled';
export const TERMINAL_STATUSES: readonly CommandStatus[] = ['succeeded', 'failed', 'timeout', 'expired', 'rejected', 'canceled'];

/** Output 2 of m2m-command: one event per transition, each status at most once per command. */
export interface StatusEvent {
  id: string;
  deviceId: string;
  command: string;
  status: CommandStatus;
  /** How many times the command has been sent so far. */
  attempts: number;
  /** The device's `result` for `succeeded`/`failed`, otherwise null. */
  response: unknown;
  /** Why the command failed, timed out, expired, was rejected or canceled; otherwise null. */
  error: string | null;
  /** Milliseconds from input to this event. */
  latencyMs: number;
  ts: number;
}

/** Output 1 of m2m-command: what a core `mqtt out` (or any transport) publishes. */
export interface TransportMessage {
  topic: string;
  payload: { id: string; command: string; params: unknown; ts: number };
  qos: 1;
  deviceId: string;
  command: string;
  commandId: string;
  /** MQTT 5 request/response properties, read by core `mqtt out` on a v5 broker connection. */
  responseTopic?: string;
  /** `<id>~<token>`: the device echoes it, and the token proves the reply answers this device's command. */
  correlationData?: Buffer;
  /** MQTT 5: the broker drops the command once its time to live has passed. */
  messageExpiryInterval?: number;
}

export type CommandPhase = 'queued' | 'sent' | 'backoff';

/**
 * A command that has not ended yet, exactly as it is persisted (plain JSON), so a restart or redeploy
 * resumes it with the same id instead of sending it again as a new command.
 */
export interface CommandRecord {
  /** Format version (see COMMAND_RECORD_VERSION); records of the first release have none. */
  v: number;
  id: string;
  /** Order of submission, for resuming queues in order. */
  seq: number;
  deviceId: string;
  command: string;
  params: unknown;
  createdAt: number;
  /** 0 when the command has no time to live. */
  expiresAt: number;
  timeoutMs: number;
  retries: number;
  attempts: number;
  phase: CommandPhase;
  /** When the current phase's timer fires: reply deadline (sent) or next attempt (backoff). */
  dueAt: number;
  /** Whether `queued` has been reported already (it is reported once). */
  queuedReported: boolean;
  /** A random secret sent only to the device in the MQTT 5 correlation data: its echo binds a reply to the device. */
  token: string;
}

/** A persisted key/value map: the registry's `StateMap`, or an in-memory one without a registry. */
export interface CommandStore {
  get(key: string): unknown;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  keys(): string[];
}

export interface DeviceEventLike {
  event: string;
  deviceId: string;
}

/** The part of the device registry the tracker needs: presence, device types, events. */
export interface CommandRegistry {
  get(id: string): { type: string; lastSeen?: number | null } | undefined;
  getType(
    name: string,
  ): { commands?: Record<string, { paramsSchema?: JsonSchema }>; sleepy?: boolean; listenWindowMs?: number; maxWaitMs?: number } | undefined;
  isOnline(id: string): boolean;
  /** Every uplink of a known device, for sleepy devices' queues. */
  onSeen?(listener: (deviceId: string) => void): () => void;
  on(event: 'device', listener: (e: DeviceEventLike) => void): unknown;
  off(event: 'device', listener: (e: DeviceEventLike) => void): unknown;
}

export interface CommandInput {
  deviceId: unknown;
  command: unknown;
  params?: unknown;
  timeout?: unknown;
  retries?: unknown;
  ttl?: unknown;
  /** Optional caller-chosen id (idempotency key); a new one is made otherwise. */
  commandId?: unknown;
  /**
   * `true`: ask for this command (same commandId, device and command) rather than send a new one: still in
   * progress, it goes on as it is; ended within the kept time, its final status event is sent again; unknown, it is sent.
   */
  resume?: unknown;
}

export interface ReplyInput {
  topic?: unknown;
  payload: unknown;
  correlationData?: unknown;
  /** The device the flow says the reply came from (`msg.deviceId`), e.g. after checking its credentials. */
  deviceId?: unknown;
}
