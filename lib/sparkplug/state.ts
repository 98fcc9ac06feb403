import { M2MError } from '../errors';

// The host application's STATE (Sparkplug 3.0, section 7.1): spBv1.0/STATE/<host_id>, retained, QoS 1, a JSON
// body { online, timestamp }. The will (online: false) and the birth (online: true) carry the same timestamp,
// so an edge node can tell which connection a death belongs to.

export const SPARKPLUG_NAMESPACE = 'spBv1.0';

/** A host id is one topic level: no `/`, `+`, `#` and not empty. */
export function checkHostId(hostId: unknown, field = 'hostId'): string {
  if (typeof hostId !== 'string' || hostId === '' || /[/+#\0]/.test(hostId) || hostId.length > 128) {
    throw new M2MError('INVALID_CONFIG', `${field} must be 1 to 128 characters without / + # (one MQTT topic level)`, { field });
  }
  return hostId;
}

export function stateTopic(hostId: string): string {
  return `${SPARKPLUG_NAMESPACE}/STATE/${hostId}`;
}

export function statePayload(online: boolean, timestamp: number): Buffer {
  return Buffer.from(JSON.stringify({ online, timestamp }));
}

export interface HostState {
  online: boolean;
  timestamp: number;
}

/** Reads a STATE body; undefined for one that is not the specification's JSON. */
export function parseState(bytes: Uint8Array | string): HostState | undefined {
  try {
    const value = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8')) as unknown;
    if (value === null || typeof value !== 'object') return undefined;
    const { online, timestamp } = value as Record<string, unknown>;
    return typeof online === 'boolean' && typeof timestamp === 'number' ? { online, timestamp } : undefined;
  } catch {
    return undefined;
  }
}
