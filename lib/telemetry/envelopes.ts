import { CODES, describeType, fail } from './fail';
import { readPath } from './path';
import type { Metrics, TelemetryRecord } from './types';
import { flattenScalars, toTimestampMs } from './values';

// LoRaWAN network server envelopes: The Things Stack v3 uplink and ChirpStack v4 uplink event.
// The device id and receive time come from the envelope; the metrics from the decoded payload, or from
// the raw frame decoded by the chosen inner format.

export type EnvelopeKind = 'ttn' | 'chirpstack';

export interface Envelope {
  deviceId: string;
  timestamp: number;
  decoded: unknown;
  /** The raw frame, base64 in both envelopes. */
  frame: unknown;
  fPort?: number;
  fCnt?: number;
}

const TTN = {
  id: ['end_device_ids', 'device_id'],
  time: [['received_at'], ['uplink_message', 'received_at']],
  decoded: ['uplink_message', 'decoded_payload'],
  frame: ['uplink_message', 'frm_payload'],
  fPort: ['uplink_message', 'f_port'],
  fCnt: ['uplink_message', 'f_cnt'],
  marker: 'uplink_message',
};
const CHIRPSTACK = {
  id: ['deviceInfo', 'devEui'],
  time: [['time']],
  decoded: ['object'],
  frame: ['data'],
  fPort: ['fPort'],
  fCnt: ['fCnt'],
  marker: 'deviceInfo',
};

export function readEnvelope(kind: EnvelopeKind, root: unknown, now: number): Envelope {
  const shape = kind === 'ttn' ? TTN : CHIRPSTACK;
  const label = kind === 'ttn' ? 'The Things Stack uplink' : 'ChirpStack uplink event';
  if (root === null || typeof root !== 'object' || Array.isArray(root))
    fail(CODES.badPayload, `a ${label} must be a JSON object, got ${describeType(root)}`, 'payload');
  if (readPath(root, [shape.marker]) === undefined) fail(CODES.badPayload, `payload is not a ${label}: it has no "${shape.marker}"`, shape.marker);
  const id = readPath(root, shape.id);
  if (typeof id !== 'string') fail(CODES.noDeviceId, `${label} has no ${shape.id.join('.')}`, shape.id.join('.'));
  let timestamp = now;
  for (const path of shape.time) {
    const t = readPath(root, path);
    if (t !== undefined) {
      timestamp = toTimestampMs(t, path.join('.'));
      break;
    }
  }
  const fPort = readPath(root, shape.fPort);
  const fCnt = readPath(root, shape.fCnt);
  return {
    deviceId: id,
    timestamp,
    decoded: readPath(root, shape.decoded),
    frame: readPath(root, shape.frame),
    fPort: typeof fPort === 'number' ? fPort : undefined,
    fCnt: typeof fCnt === 'number' ? fCnt : undefined,
  };
}

/** The record from the network server's own decoded payload (TTN decoded_payload, ChirpStack object). */
export function decodedRecord(kind: EnvelopeKind, envelope: Envelope, maxMetrics: number): TelemetryRecord {
  const field = kind === 'ttn' ? 'uplink_message.decoded_payload' : 'object';
  const decoded = envelope.decoded;
  if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) {
    fail(CODES.badPayload, `uplink has no ${field} object (got ${describeType(decoded)}); set an inner format to decode the raw frame`, field);
  }
  const payload: Metrics = {};
  if (flattenScalars(payload, decoded, undefined, maxMetrics) === 0) fail(CODES.badPayload, `${field} has no number, string or boolean fields`, field);
  return { deviceId: envelope.deviceId, timestamp: envelope.timestamp, payload };
}
