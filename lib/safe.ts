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
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
