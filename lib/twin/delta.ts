import { hasOwn, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from './json';

/**
 * What the device still has to apply: every desired key whose value differs from the reported one. Where both
 * sides hold an object, only the differing keys inside it are in the delta, at any depth, so a device that reports
 * more than was desired (extra keys in a nested object) is still in sync. Arrays and scalars compare as a whole.
 * Empty when everything desired is reported.
 */
export function computeDelta(desired: JsonObject, reported: JsonObject): JsonObject {
  const delta: Record<string, JsonValue> = {};
  for (const key of Object.keys(desired)) {
    const wanted = desired[key];
    const actual = hasOwn(reported, key) ? reported[key] : undefined;
    if (isJsonObject(wanted) && isJsonObject(actual)) {
      const inner = computeDelta(wanted, actual);
      if (!isEmpty(inner)) delta[key] = inner;
    } else if (!jsonEqual(wanted, actual)) {
      delta[key] = wanted;
    }
  }
  return delta;
}

export function isEmpty(object: JsonObject): boolean {
  for (const key in object) if (hasOwn(object, key)) return false;
  return true;
}
