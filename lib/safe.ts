// Guards against prototype pollution: keys that would reach Object.prototype are never copied.
const HOSTILE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function isHostileKey(key: string): boolean {
  return HOSTILE_KEYS.has(key);
}

/** A plain object whose prototype is null, so no key can reach Object.prototype. */
export function emptyRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype || proto === null) return true;
  // An object made in a Node-RED function node comes from the function's own context (vm), whose Object.prototype
  // is another object: plain all the same when its prototype is that realm's root.
  return Object.getPrototypeOf(proto) === null && Object.prototype.toString.call(value) === '[object Object]';
}
