// The device table behind ui-m2m-devices: kept from a registry (its device events and uplinks) or from the
// messages wired in (m2m-device events and results, or any message with a msg.deviceId, e.g. telemetry).
import { M2MError } from '../errors';
import { checkDeviceId } from '../ids';
import type { DeviceRecord } from '../registry/types';
import { Board } from './board';

export interface DeviceRow {
  /** The device id. */
  key: string;
  id: string;
  name: string;
  type: string;
  tags: string[];
  online: boolean;
  lastSeen: number | null;
}

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields => value !== null && typeof value === 'object' && !Array.isArray(value);

function looksLikeRecord(value: unknown): value is DeviceRecord {
  return isObject(value) && typeof value.id === 'string' && typeof value.online === 'boolean' && Array.isArray(value.tags);
}

export function deviceRow(device: DeviceRecord): DeviceRow {
  return {
    key: device.id,
    id: device.id,
    name: typeof device.name === 'string' ? device.name : '',
    type: typeof device.type === 'string' ? device.type : '',
    tags: device.tags.filter((tag): tag is string => typeof tag === 'string'),
    online: device.online,
    lastSeen: typeof device.lastSeen === 'number' ? device.lastSeen : null,
  };
}

export class DeviceBoard {
  readonly rows: Board<DeviceRow>;

  constructor(capacity = 100000) {
    this.rows = new Board<DeviceRow>(capacity);
  }

  put(device: DeviceRecord): void {
    this.rows.put(deviceRow(device));
  }

  remove(deviceId: string): void {
    this.rows.delete(deviceId);
  }

  /**
   * A message wired in: an m2m-device event (`removed` takes the row away), a device record or a list of them
   * (m2m-device's results), or any other message with a msg.deviceId, which marks that device seen and online.
   */
  applyMessage(msg: { deviceId?: unknown; payload?: unknown; timestamp?: unknown }, now = Date.now()): void {
    const payload = msg.payload;
    if (isObject(payload) && typeof payload.event === 'string' && looksLikeRecord(payload.device)) {
      if (payload.event === 'removed') this.remove(payload.device.id);
      else this.put(payload.device);
      return;
    }
    if (looksLikeRecord(payload)) return this.put(payload);
    const list = Array.isArray(payload) ? payload : isObject(payload) && Array.isArray(payload.devices) ? payload.devices : undefined;
    if (list && list.every(looksLikeRecord)) {
      for (const device of list) this.put(device);
      return;
    }
    if (msg.deviceId === undefined) {
      throw new M2MError('INVALID_PAYLOAD', 'ui-m2m-devices takes device events, device records or messages with msg.deviceId', { field: 'payload' });
    }
    const id = checkDeviceId(msg.deviceId);
    const seen = typeof msg.timestamp === 'number' && Number.isFinite(msg.timestamp) ? msg.timestamp : now;
    const before = this.rows.get(id);
    this.rows.put({
      key: id,
      id,
      name: before?.name ?? '',
      type: before?.type ?? '',
      tags: before?.tags ?? [],
      online: true,
      lastSeen: Math.max(seen, before?.lastSeen ?? 0),
    });
  }
}
