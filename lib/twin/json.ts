import { checkShape, MAX_CONTAINERS } from '../depth';
import { M2MError } from '../errors';
import { isHostileKey, isPlainObject } from '../safe';

// Twin documents are JSON: what a device or a flow sends is checked once, on the way in, and kept as a frozen copy,
// so that nothing the flow does to its message afterwards can change a stored twin, and unchanged parts of a
// document can be shared between versions instead of copied.

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return isPlainObject(value);
}

export function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/**
 * A frozen deep copy of `value` when it is a JSON object within `maxDepth` levels of nesting, else an M2MError
 * naming `field`: PAYLOAD_TOO_DEEP, HOSTILE_KEY (`__proto__`, `constructor`, `prototype` at any level) or
 * INVALID_FIELD (not an object; a value JSON cannot hold, such as undefined, NaN, a Date or a Buffer).
 */
export function frozenJsonObject(value: unknown, field: string, maxDepth: number): JsonObject {
  if (!isJsonObject(value)) throw new M2MError('INVALID_FIELD', `msg.${field} must be a JSON object, e.g. {"setpoint": 21}`, { field });
  // bounds the recursion below, and refuses a value that contains itself
  checkShape(value, field, { depth: maxDepth, containers: MAX_CONTAINERS });
  return copy(value, field) as JsonObject;
}

function copy(value: unknown, path: string): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new M2MError('INVALID_FIELD', `${path} is ${value}; JSON holds finite numbers only`, { field: path });
    return value;
  }
  if (Array.isArray(value)) return Object.freeze(value.map((item, i) => copy(item, `${path}[${i}]`)));
  if (isPlainObject(value)) {
    const out: Record<string, JsonValue> = {};
    for (const key of Object.keys(value)) {
      if (isHostileKey(key))
        throw new M2MError('HOSTILE_KEY', `${path} has the key "${key}", which is refused: it could reach an object's prototype`, { field: path });
      out[key] = copy(value[key], `${path}.${key}`);
    }
    return Object.freeze(out);
  }
  const kind = value === undefined ? 'undefined' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  throw new M2MError('INVALID_FIELD', `${path} is ${kind}; a twin holds JSON values only (objects, arrays, strings, numbers, booleans, null)`, { field: path });
}

/** Whether two JSON values are equal, comparing objects by their keys and values and arrays item by item. */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] as JsonValue, b[i] as JsonValue)) return false;
    return true;
  }
  const objectA = a as JsonObject;
  const objectB = b as JsonObject;
  const keys = Object.keys(objectA);
  if (keys.length !== Object.keys(objectB).length) return false;
  for (const key of keys) {
    if (!hasOwn(objectB, key) || !jsonEqual(objectA[key], objectB[key])) return false;
  }
  return true;
}

/** Bytes of `value` as UTF-8 JSON text. */
export function jsonBytes(value: JsonValue): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
