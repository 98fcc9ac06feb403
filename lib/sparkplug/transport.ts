import type { StatusEvent } from '../command/types';
import type { WriteRequest } from './command';
import type { HostEvent } from './host';

// What an m2m-sparkplug-host node offers m2m-command: writes published on its own Sparkplug session, with
// status events (sent, then succeeded, failed, timeout or canceled) for each.

export interface SparkplugTransport {
  /** Publishes the write and reports `sent` (then the outcome) to onStatus; throws M2MError, publishing nothing, when it cannot be encoded. */
  write(request: WriteRequest, onStatus: (event: StatusEvent) => void): void;
  /** Publishes the write and keeps nothing (m2m-command's tracker watches for its confirmation); throws M2MError, publishing nothing, when it cannot be sent. */
  send(request: Pick<WriteRequest, 'deviceId' | 'command' | 'params'>): void;
  /** Throws what send would throw, publishing nothing. */
  check(request: Pick<WriteRequest, 'deviceId' | 'command' | 'params'>): void;
}

// Host events by host node id, for m2m-command's Sparkplug transport: it listens by id, so either node may be
// (re)deployed first, and a redeployed host's events reach the same listeners.
const listeners = new Map<string, Set<(events: readonly HostEvent[]) => void>>();

export function announceHostEvents(hostId: string, events: readonly HostEvent[]): void {
  const set = listeners.get(hostId);
  if (set) for (const listener of set) listener(events);
}

/** Calls listener with every batch of events of the host node hostId; returns the unsubscribe. */
export function onHostEvents(hostId: string, listener: (events: readonly HostEvent[]) => void): () => void {
  let set = listeners.get(hostId);
  if (!set) listeners.set(hostId, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0 && listeners.get(hostId) === set) listeners.delete(hostId);
  };
}

/** The host node exposes its transport as `sparkplug`. */
export function sparkplugTransportOf(node: unknown): SparkplugTransport | undefined {
  const candidate = (node as { sparkplug?: unknown } | null)?.sparkplug;
  return candidate !== null && typeof candidate === 'object' && typeof (candidate as SparkplugTransport).send === 'function'
    ? (candidate as SparkplugTransport)
    : undefined;
}
