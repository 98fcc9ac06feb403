import { M2MError } from './errors';

// 1..128 characters of A-Z a-z 0-9 . _ : - ; nothing that could be an MQTT topic level, wildcard or a prototype key.
export const DEVICE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

export function deviceIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return `must be a string, got ${id === null ? 'null' : typeof id}`;
  if (id.length === 0) return 'must not be empty';
  if (id.length > 128) return `must be at most 128 characters, got ${id.length}`;
  if (!DEVICE_ID.test(id)) {
    const bad = [...id].find((c) => !/[A-Za-z0-9._:-]/.test(c)) ?? '';
    return `contains ${JSON.stringify(bad)}; only A-Z a-z 0-9 . _ : - are allowed`;
  }
  if (RESERVED.has(id)) return `"${id}" is reserved`;
  return undefined;
}

/** Returns the id if it meets the device id contract, or throws an M2MError naming `field`. */
export function checkDeviceId(id: unknown, field = 'deviceId'): string {
  const problem = deviceIdProblem(id);
  if (problem) throw new M2MError('INVALID_DEVICE_ID', `${field} ${problem}`, { field });
  return id as string;
}

export function isDeviceId(id: unknown): id is string {
  return deviceIdProblem(id) === undefined;
}
