import { M2MError } from '../errors';
import { isPlainObject } from '../safe';
import { frozenJsonObject, type JsonObject } from './json';

// A twin as kept in the registry's store (state namespace `twin`, key = device id). `v` is the format: a record
// of a newer format is refused with STORE_TOO_NEW and left as it is; an unreadable one with STORE_CORRUPT.

export const TWIN_FORMAT = 1;
export const TWIN_NAMESPACE = 'twin';

/** One side of a twin: the document, its version (0 before the first change) and when each top-level key last changed. */
export interface TwinSide {
  readonly doc: JsonObject;
  readonly version: number;
  /** ms since epoch per top-level key of `doc`. */
  readonly updatedAt: Readonly<Record<string, number>>;
}

export interface TwinRecord {
  readonly v: typeof TWIN_FORMAT;
  readonly desired: TwinSide;
  readonly reported: TwinSide;
}

const EMPTY_SIDE: TwinSide = Object.freeze({ doc: Object.freeze({}), version: 0, updatedAt: Object.freeze({}) });

// Marks a record this process built (written, or read and checked): read again without a walk. A symbol key is
// not JSON, so a record that went through a file or Redis comes back without it and is checked once.
const CHECKED = Symbol('checked twin record');

/** A record built here, marked so that reading it back takes no walk. */
export function twinRecord(desired: TwinSide, reported: TwinSide): TwinRecord {
  return Object.freeze({ v: TWIN_FORMAT, desired, reported, [CHECKED]: true });
}

// records loaded from a store, by the checked copy made of them: until the next write replaces them in the state map
const readBefore = new WeakMap<object, TwinRecord>();

export const EMPTY_TWIN: TwinRecord = twinRecord(EMPTY_SIDE, EMPTY_SIDE);

/**
 * The record of `deviceId` as stored (undefined: the device has no twin yet). Records this process wrote are
 * taken as they are; others (loaded from a file or Redis, or written by another instance) are checked once.
 */
export function readRecord(deviceId: string, raw: unknown, maxDepth: number): TwinRecord {
  if (raw === undefined) return EMPTY_TWIN;
  if (!isPlainObject(raw)) throw corrupt(deviceId, 'it is not an object');
  if ((raw as { [CHECKED]?: boolean })[CHECKED] === true) return raw as unknown as TwinRecord;
  const known = readBefore.get(raw);
  if (known !== undefined) return known;
  const v = raw.v;
  if (typeof v === 'number' && Number.isInteger(v) && v > TWIN_FORMAT) {
    throw new M2MError(
      'STORE_TOO_NEW',
      `the twin of ${deviceId} has format ${v}, written by a newer version of the pack; this one reads up to ${TWIN_FORMAT}. Upgrade the pack again; the twin is left as it is`,
      { field: 'store', details: { deviceId, format: v } },
    );
  }
  if (v !== TWIN_FORMAT) throw corrupt(deviceId, `its format ${JSON.stringify(v)} is not a version`);
  const record = twinRecord(readSide(deviceId, raw.desired, 'desired', maxDepth), readSide(deviceId, raw.reported, 'reported', maxDepth));
  readBefore.set(raw, record);
  return record;
}

function readSide(deviceId: string, raw: unknown, name: string, maxDepth: number): TwinSide {
  if (!isPlainObject(raw)) throw corrupt(deviceId, `${name} is not an object`);
  const { version, updatedAt } = raw;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) throw corrupt(deviceId, `${name}.version is not a whole number`);
  let doc: JsonObject;
  try {
    // a stored document, like an incoming patch, holds JSON only, no hostile keys, within the depth cap
    doc = frozenJsonObject(raw.doc, `${name}.doc`, Math.max(maxDepth, 64));
  } catch (err) {
    throw corrupt(deviceId, `${name}.doc: ${(err as Error).message}`);
  }
  const times: Record<string, number> = {};
  if (isPlainObject(updatedAt)) {
    for (const key of Object.keys(doc)) {
      const at = updatedAt[key];
      if (typeof at === 'number' && Number.isFinite(at)) times[key] = at;
    }
  }
  return Object.freeze({ doc, version, updatedAt: Object.freeze(times) });
}

function corrupt(deviceId: string, why: string): M2MError {
  return new M2MError('STORE_CORRUPT', `the stored twin of ${deviceId} cannot be read (${why}); it is left as it is`, {
    field: 'store',
    details: { deviceId },
  });
}
