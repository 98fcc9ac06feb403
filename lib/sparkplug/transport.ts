import type { StatusEvent } from '../command/types';
import type { WriteRequest } from './command';

// What an m2m-sparkplug-host node offers m2m-command: writes published on its own Sparkplug session, with
// status events (sent, then succeeded, failed, timeout or canceled) for each.

export interface SparkplugTransport {
  /** Publishes the write and reports `sent` (then the outcome) to onStatus; throws M2MError, publishing nothing, when it cannot be encoded. */
  write(request: WriteRequest, onStatus: (event: StatusEvent) => void): void;
}

/** The host node exposes its transport as `sparkplug`. */
export function sparkplugTransportOf(node: unknown): SparkplugTransport | undefined {
  const candidate = (node as { sparkplug?: unknown } | null)?.sparkplug;
  return candidate !== null && typeof candidate === 'object' && typeof (candidate as SparkplugTransport).write === 'function' ? (candidate as SparkplugTransport) : undefined;
}
