import { randomBytes } from 'crypto';
import { M2MError } from '../errors';
import { isPlainObject } from '../safe';
import type { CommandRecord } from './types';

/**
 * The format of a persisted command record. 1: the first release (no `v`, ids `<prefix>.<sequence>`, no reply
 * token). 2: `v`, and `token`, the secret that MQTT 5 correlation data carries back.
 */
export const COMMAND_RECORD_VERSION = 2;

/** 128 random bits, base64url: valid as a command id, a topic level and in correlation data, and not guessable. */
export function randomToken(): string {
  return randomBytes(16).toString('base64url');
}

export type ReadRecord = { record: CommandRecord; steppedUp: boolean } | { unreadable: string };

/**
 * Reads a stored command record, stepping older formats up. A newer format throws STORE_TOO_NEW: commands this
 * version cannot understand must not be half-resumed. Anything else it cannot read is reported, never deleted.
 */
export function readCommandRecord(key: string, value: unknown): ReadRecord {
  if (!isPlainObject(value)) return { unreadable: 'not an object' };
  const version = value.v === undefined ? 1 : value.v;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    return { unreadable: `format version ${JSON.stringify(version)} is not a version` };
  if (version > COMMAND_RECORD_VERSION) {
    throw new M2MError(
      'STORE_TOO_NEW',
      `command record ${key} has format ${version}, written by a newer version of the pack; this one reads up to ${COMMAND_RECORD_VERSION}. Upgrade the pack again to resume those commands`,
      { field: 'store' },
    );
  }
  const stepped = version === 1 ? { ...value, v: COMMAND_RECORD_VERSION, token: randomToken() } : value;
  if (!isCommandRecord(stepped)) return { unreadable: 'fields missing or of the wrong type' };
  if (stepped.id !== key) return { unreadable: `its id ${JSON.stringify(stepped.id)} differs from its key` };
  return { record: stepped, steppedUp: version !== COMMAND_RECORD_VERSION };
}

function isCommandRecord(value: Record<string, unknown>): value is Record<string, unknown> & CommandRecord {
  const r = value as Partial<CommandRecord>;
  return (
    typeof r.id === 'string' &&
    typeof r.deviceId === 'string' &&
    typeof r.command === 'string' &&
    typeof r.createdAt === 'number' &&
    typeof r.timeoutMs === 'number' &&
    typeof r.attempts === 'number' &&
    typeof r.dueAt === 'number' &&
    typeof r.token === 'string' &&
    typeof r.seq === 'number' &&
    typeof r.expiresAt === 'number' &&
    typeof r.retries === 'number' &&
    (r.phase === 'queued' || r.phase === 'sent' || r.phase === 'backoff')
  );
}
