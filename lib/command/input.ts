import { M2MError, describeValue } from '../errors';
import { checkDeviceId, deviceIdProblem } from '../ids';

// Checks what enters m2m-command before a command exists: anything wrong here is an error for the sender,
// and no status event, because there is no command to report on.

const MAX_DURATION_MS = 7 * 24 * 3600 * 1000;
const MAX_RETRIES = 100;

export interface CommandOptions {
  timeoutMs: number;
  retries: number;
  /** 0: no time to live. */
  ttlMs: number;
}

export function checkCommandName(name: unknown): string {
  if (name === undefined || name === null || name === '') {
    throw new M2MError('INVALID_COMMAND', 'msg.command is missing: set it to the command name, e.g. "reboot"', { field: 'command' });
  }
  const problem = deviceIdProblem(name);
  if (problem) throw new M2MError('INVALID_COMMAND', `msg.command ${problem}`, { field: 'command' });
  return name as string;
}

export function checkCommandDeviceId(id: unknown): string {
  if (id === undefined || id === null || id === '') {
    throw new M2MError('INVALID_DEVICE_ID', 'msg.deviceId is missing: set it to the id of the device to command', { field: 'deviceId' });
  }
  return checkDeviceId(id, 'msg.deviceId');
}

function duration(value: unknown, field: string, fallback: number, allowZero: boolean): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0) || n > MAX_DURATION_MS) {
    throw new M2MError(
      'INVALID_FIELD',
      `msg.${field} must be a number of milliseconds${allowZero ? ' (0 for none)' : ' above 0'} up to 7 days, got ${describeValue(value)}`,
      { field },
    );
  }
  return Math.round(n);
}

export function checkCommandOptions(input: { timeout?: unknown; retries?: unknown; ttl?: unknown }, defaults: CommandOptions): CommandOptions {
  const timeoutMs = duration(input.timeout, 'timeout', defaults.timeoutMs, false);
  const ttlMs = duration(input.ttl, 'ttl', defaults.ttlMs, true);
  let retries = defaults.retries;
  if (input.retries !== undefined && input.retries !== null && input.retries !== '') {
    const n = typeof input.retries === 'string' ? Number(input.retries) : input.retries;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_RETRIES) {
      throw new M2MError('INVALID_FIELD', `msg.retries must be a whole number 0..${MAX_RETRIES}, got ${describeValue(input.retries)}`, { field: 'retries' });
    }
    retries = n;
  }
  return { timeoutMs, retries, ttlMs };
}

export function checkCommandId(id: unknown): string | undefined {
  if (id === undefined || id === null || id === '') return undefined;
  const problem = deviceIdProblem(id);
  if (problem) throw new M2MError('INVALID_FIELD', `msg.commandId ${problem}`, { field: 'commandId' });
  return id as string;
}

/**
 * Parameters are JSON: a missing payload is an empty object. They are copied through JSON so the command
 * keeps what was sent even if a later node changes the message, and so it can be persisted as it is.
 */
export function checkParams(params: unknown): unknown {
  if (params === undefined || params === null || params === '') return {};
  if (typeof params !== 'object') {
    if (typeof params === 'number' && !Number.isFinite(params))
      throw new M2MError('INVALID_FIELD', 'msg.payload must be a finite number', { field: 'payload' });
    if (typeof params === 'string' || typeof params === 'number' || typeof params === 'boolean') return params;
    throw new M2MError('INVALID_FIELD', `msg.payload (the parameters) must be JSON, got ${typeof params}`, { field: 'payload' });
  }
  if (Buffer.isBuffer(params)) throw new M2MError('INVALID_FIELD', 'msg.payload (the parameters) must be JSON, got a Buffer', { field: 'payload' });
  try {
    return JSON.parse(JSON.stringify(params)) as unknown;
  } catch (err) {
    throw new M2MError('INVALID_FIELD', `msg.payload (the parameters) cannot be written as JSON: ${(err as Error).message}`, { field: 'payload' });
  }
}
