// The changes the store records, their shape check (a record of the wrong shape is skipped, never a TypeError
// that keeps the store from opening) and how they are applied. Short keys: the journal is written at tens of
// thousands of lines a second. Journal lines and snapshot lines hold the same operations.
import type { StoredDevice } from '../types';
import { FORMAT, LEGACY_FORMAT } from './frame';

export type StoreOp =
  | { o: 'p'; d: StoredDevice }
  | { o: 'd'; i: string }
  | { o: 'sp'; n: string; k: string; v: unknown }
  | { o: 'sd'; n: string; k: string }
  | { o: 's'; s: Array<[string, number]> };

export interface StoreData {
  devices: Map<string, StoredDevice>;
  state: Map<string, Map<string, unknown>>;
}

/**
 * Steps a record of an older format up to the current one. Format 1 (bare JSON lines) and format 2 (framed,
 * checksummed lines) hold the same operations; a later format that changes them adds its step here.
 */
const STEPS: Record<number, (value: unknown) => unknown> = {
  [LEGACY_FORMAT]: (value) => value,
};

export function stepUp(value: unknown, format: number): unknown {
  let current = value;
  for (let f = format; f < FORMAT; f++) current = STEPS[f](current);
  return current;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isDevice(d: unknown): d is StoredDevice {
  return (
    isObject(d) &&
    isString(d.id) &&
    d.id.length > 0 &&
    isString(d.name) &&
    isString(d.type) &&
    isObject(d.attributes) &&
    Array.isArray(d.tags) &&
    d.tags.every(isString) &&
    isTime(d.createdAt) &&
    isTime(d.updatedAt) &&
    (d.lastSeen === null || isTime(d.lastSeen)) &&
    (d.secret === undefined || isString(d.secret))
  );
}

/** The operation in `value`, or why it is not one. */
export function checkOp(value: unknown): StoreOp | string {
  if (!isObject(value)) return 'not an object';
  switch (value.o) {
    case 'p':
      return isDevice(value.d) ? (value as StoreOp) : 'a device record of the wrong shape';
    case 'd':
      return isString(value.i) ? (value as StoreOp) : 'a removal without a device id';
    case 'sp':
    case 'sd':
      return isString(value.n) && isString(value.k) ? (value as StoreOp) : 'a state change without namespace or key';
    case 's':
      return Array.isArray(value.s) && value.s.every((e) => Array.isArray(e) && isString(e[0]) && isTime(e[1]))
        ? (value as StoreOp)
        : 'last-seen times of the wrong shape';
    default:
      return 'an unknown operation';
  }
}

export function applyOp(op: StoreOp, data: StoreData): void {
  switch (op.o) {
    case 'p':
      data.devices.set(op.d.id, op.d);
      break;
    case 'd':
      data.devices.delete(op.i);
      break;
    case 'sp': {
      let entries = data.state.get(op.n);
      if (!entries) data.state.set(op.n, (entries = new Map()));
      entries.set(op.k, op.v);
      break;
    }
    case 'sd':
      data.state.get(op.n)?.delete(op.k);
      break;
    case 's':
      for (const [id, seen] of op.s) {
        const device = data.devices.get(id);
        if (device && (device.lastSeen ?? 0) < seen) device.lastSeen = seen;
      }
      break;
  }
}
