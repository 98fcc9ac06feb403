import { hasOwn, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from './json';

// JSON merge patch (RFC 7396): an object in the patch merges into the object at the same place, `null` deletes a
// key, anything else (a scalar or an array) replaces the value. Parts the patch leaves alone are shared with the
// old document, not copied; both documents and the patch are frozen, so sharing is safe.

export interface Merged {
  doc: JsonObject;
  /** Top-level keys whose value was added, changed or deleted; empty when the patch changed nothing. */
  changedKeys: string[];
}

const UNCHANGED = Symbol('unchanged');

/** `patch` (a frozen JSON object, see frozenJsonObject) applied to `target`; `target` itself is never changed. */
export function applyMergePatch(target: JsonObject, patch: JsonObject): Merged {
  const changedKeys: string[] = [];
  let out: Record<string, JsonValue> | undefined;
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    let next: JsonValue | typeof UNCHANGED;
    if (value === null) next = hasOwn(target, key) ? null : UNCHANGED;
    else next = mergeValue(hasOwn(target, key) ? target[key] : undefined, value);
    if (next === UNCHANGED) continue;
    out ??= { ...target };
    if (next === null) delete out[key];
    else out[key] = next;
    changedKeys.push(key);
  }
  return out === undefined ? { doc: target, changedKeys } : { doc: Object.freeze(out), changedKeys };
}

/** The merged value, or UNCHANGED when it equals `target`. `patch` is not null. */
function mergeValue(target: JsonValue | undefined, patch: JsonValue): JsonValue | typeof UNCHANGED {
  if (!isJsonObject(patch)) return jsonEqual(target, patch) ? UNCHANGED : patch;
  const base = isJsonObject(target) ? target : undefined;
  let out: Record<string, JsonValue> | undefined;
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    const present = base !== undefined && hasOwn(base, key);
    if (value === null) {
      if (!present) continue;
      out ??= { ...base };
      delete out[key];
      continue;
    }
    const next = mergeValue(present ? base[key] : undefined, value);
    if (next === UNCHANGED) continue;
    out ??= { ...base };
    out[key] = next;
  }
  if (out !== undefined) return Object.freeze(out);
  // nothing merged: an object stays as it was; anything else becomes an empty object (RFC 7396 section 2)
  return base !== undefined ? UNCHANGED : Object.freeze({});
}
