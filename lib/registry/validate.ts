import { M2MError } from '../errors';
import { isHostileKey, isPlainObject } from '../safe';
import { assertValid, compileSchema } from '../schema';
import type { DeviceType, ListFilter } from './types';

const MAX_NAME = 256;
const MAX_TAGS = 32;
const TAG = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_ATTRIBUTES_BYTES = 64 * 1024;

export function checkName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string') throw new M2MError('INVALID_FIELD', `${field} must be a string`, { field });
  if (name.length > MAX_NAME) throw new M2MError('INVALID_FIELD', `${field} must be at most ${MAX_NAME} characters`, { field });
  return name;
}

export function checkTags(tags: unknown, field = 'tags'): string[] {
  if (!Array.isArray(tags)) throw new M2MError('INVALID_FIELD', `${field} must be an array of strings`, { field });
  if (tags.length > MAX_TAGS) throw new M2MError('INVALID_FIELD', `${field} must have at most ${MAX_TAGS} tags`, { field });
  for (const tag of tags) {
    if (typeof tag !== 'string' || !TAG.test(tag)) {
      throw new M2MError('INVALID_FIELD', `${field} has ${JSON.stringify(tag)}; a tag is 1 to 64 characters of A-Z a-z 0-9 . _ : -`, { field });
    }
  }
  return [...new Set(tags as string[])];
}

/** Attributes are a plain JSON object without keys that could reach a prototype, checked deeply. */
export function checkAttributes(attributes: unknown, field = 'attributes'): Record<string, unknown> {
  if (!isPlainObject(attributes)) throw new M2MError('INVALID_FIELD', `${field} must be an object`, { field });
  checkKeys(attributes, field);
  let size: number;
  try {
    size = JSON.stringify(attributes).length;
  } catch {
    throw new M2MError('INVALID_FIELD', `${field} must be JSON (no cycles or BigInt)`, { field });
  }
  if (size > MAX_ATTRIBUTES_BYTES) throw new M2MError('INVALID_FIELD', `${field} must be at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON`, { field });
  return attributes;
}

function checkKeys(value: unknown, field: string): void {
  const trail: (string | number)[] = [];
  const bad = findHostileKey(value, trail);
  if (bad !== undefined) {
    const path = field + trail.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
    throw new M2MError('INVALID_FIELD', `${path} must not have the key "${bad}"`, { field: path });
  }
}

// Walks the value without building a path per element (a 20,000-number array cost 50 ms that way); `trail` holds
// the steps to the hostile key, so the path is spelled out only when one is found.
function findHostileKey(value: unknown, trail: (string | number)[]): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === null || typeof item !== 'object') continue;
      const bad = findHostileKey(item, trail);
      if (bad !== undefined) {
        trail.unshift(i);
        return bad;
      }
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (isHostileKey(key)) return key;
    const bad = findHostileKey((value as Record<string, unknown>)[key], trail);
    if (bad !== undefined) {
      trail.unshift(key);
      return bad;
    }
  }
  return undefined;
}

export function checkType(typeName: unknown, types: Map<string, DeviceType>, field = 'type'): string {
  if (typeName === undefined || typeName === '') return '';
  if (typeof typeName !== 'string') throw new M2MError('INVALID_FIELD', `${field} must be a string`, { field });
  if (types.size > 0 && !types.has(typeName)) {
    throw new M2MError('UNKNOWN_TYPE', `${field} "${typeName}" is not a device type of this registry (known: ${[...types.keys()].join(', ')})`, { field });
  }
  return typeName;
}

export function validateAttributes(type: DeviceType | undefined, attributes: Record<string, unknown>): void {
  if (type?.attributesSchema !== undefined) assertValid(type.attributesSchema, attributes, 'attributes');
}

export function checkListFilter(filter: ListFilter): Required<Pick<ListFilter, 'page' | 'pageSize'>> {
  const page = filter.page ?? 0;
  const pageSize = filter.pageSize ?? 100;
  if (!Number.isInteger(page) || page < 0) throw new M2MError('INVALID_FIELD', 'page must be a whole number from 0', { field: 'page' });
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new M2MError('INVALID_FIELD', 'pageSize must be a whole number from 1 to 1000', { field: 'pageSize' });
  }
  return { page, pageSize };
}

// Timeouts end up in timers: NaN or 0 would make the offline sweep run every millisecond, and Node.js runs a
// timer longer than 2^31-1 ms after 1 ms. So every duration is checked before any timer sees it.
export const MAX_OFFLINE_TIMEOUT_S = 365 * 24 * 3600;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration in ms, finite and from 1 ms up to `maxMs`; INVALID_CONFIG naming `field` otherwise. */
export function checkDurationMs(value: unknown, field: string, maxMs = MAX_OFFLINE_TIMEOUT_S * 1000): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > maxMs) {
    throw new M2MError('INVALID_CONFIG', `${field} must be a number of milliseconds from 1 to ${maxMs}; got ${describe(value)}`, { field });
  }
  return value;
}

/**
 * The registry node's "Offline after" (seconds, a number or the editor's text) as ms. Missing means the
 * default; empty or anything else that is not a positive number of seconds is refused, never read as 0.
 */
export function parseOfflineTimeout(value: unknown, defaultSeconds: number): number {
  if (value === undefined || value === null) return defaultSeconds * 1000;
  const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_OFFLINE_TIMEOUT_S) {
    throw new M2MError(
      'INVALID_CONFIG',
      `offlineTimeout must be a number of seconds greater than 0 and at most ${MAX_OFFLINE_TIMEOUT_S}; got ${describe(value)}`,
      {
        field: 'offlineTimeout',
      },
    );
  }
  return Math.max(1, Math.round(seconds * 1000));
}

/** The registry's timing options and each type's offlineTimeoutMs, checked before the sweep timer is set. */
export function checkRegistryTiming(options: { defaultOfflineTimeoutMs?: number; sweepMs?: number; types?: DeviceType[] }): void {
  if (options.defaultOfflineTimeoutMs !== undefined) checkDurationMs(options.defaultOfflineTimeoutMs, 'defaultOfflineTimeoutMs');
  if (options.sweepMs !== undefined) checkDurationMs(options.sweepMs, 'sweepMs', MAX_TIMER_MS);
  for (const type of options.types ?? []) {
    if (type.offlineTimeoutMs !== undefined) checkDurationMs(type.offlineTimeoutMs, `offlineTimeoutMs of device type ${type.name}`);
    checkSleepyType(type, `device type ${type.name}`);
  }
}

/** A sleepy type's options: `sleepy` a boolean; `listenWindowMs` and `maxWaitMs` durations, only on a sleepy type. */
function checkSleepyType(type: { sleepy?: unknown; listenWindowMs?: unknown; maxWaitMs?: unknown }, where: string): void {
  if (type.sleepy !== undefined && typeof type.sleepy !== 'boolean') {
    throw new M2MError('INVALID_CONFIG', `${where}: sleepy must be true or false; got ${describe(type.sleepy)}`, { field: 'deviceTypes' });
  }
  for (const key of ['listenWindowMs', 'maxWaitMs'] as const) {
    if (type[key] === undefined) continue;
    if (type.sleepy !== true) throw new M2MError('INVALID_CONFIG', `${where}: ${key} applies only to a sleepy type (sleepy: true)`, { field: 'deviceTypes' });
    try {
      checkDurationMs(type[key], key, MAX_TIMER_MS);
    } catch (err) {
      throw new M2MError('INVALID_CONFIG', `${where}: ${(err as Error).message}`, { field: 'deviceTypes' });
    }
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Compiles every schema of every type (attributes, telemetry, each command's parameters) now, at deploy, so
 * that no message pays for a compile and a refused schema stops the deploy with the path of the problem,
 * e.g. `deviceTypes[2].telemetrySchema.properties.code.pattern`.
 */
export function compileTypeSchemas(types: DeviceType[], field = 'deviceTypes'): void {
  types.forEach((type, i) => {
    const at = `${field}[${i}]`;
    try {
      if (type.attributesSchema !== undefined) compileSchema(type.attributesSchema, `${at}.attributesSchema`);
      if (type.telemetrySchema !== undefined) compileSchema(type.telemetrySchema, `${at}.telemetrySchema`);
      if (type.desiredSchema !== undefined) compileSchema(type.desiredSchema, `${at}.desiredSchema`);
      if (type.reportedSchema !== undefined) compileSchema(type.reportedSchema, `${at}.reportedSchema`);
      for (const [command, definition] of Object.entries(type.commands ?? {})) {
        if (definition?.paramsSchema !== undefined) compileSchema(definition.paramsSchema, `${at}.commands[${JSON.stringify(command)}].paramsSchema`);
      }
    } catch (err) {
      if (!(err instanceof M2MError)) throw err;
      throw new M2MError(err.code, `device type ${JSON.stringify(type.name)}: ${err.message}`, { field: err.field, details: err.details });
    }
  });
}

/** Device types come from the editor as JSON text; each is checked and its schemas compiled up front. */
export function parseDeviceTypes(input: unknown): DeviceType[] {
  let value = input;
  if (typeof input === 'string') {
    if (input.trim() === '') return [];
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new M2MError('INVALID_CONFIG', `device types are not valid JSON: ${(err as Error).message}`, { field: 'deviceTypes' });
    }
  }
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new M2MError('INVALID_CONFIG', 'device types must be an array', { field: 'deviceTypes' });
  const types = value.map((t: unknown, i: number): DeviceType => {
    if (!isPlainObject(t) || typeof t.name !== 'string' || t.name === '') {
      throw new M2MError('INVALID_CONFIG', `device type ${i} needs a name`, { field: 'deviceTypes' });
    }
    if (t.offlineTimeoutMs !== undefined) {
      try {
        checkDurationMs(t.offlineTimeoutMs, 'offlineTimeoutMs');
      } catch (err) {
        throw new M2MError('INVALID_CONFIG', `device type ${t.name} (deviceTypes[${i}]): ${(err as Error).message}`, { field: 'deviceTypes' });
      }
    }
    checkSleepyType(t, `device type ${t.name} (deviceTypes[${i}])`);
    return t as unknown as DeviceType;
  });
  compileTypeSchemas(types);
  return types;
}
