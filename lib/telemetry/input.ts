import { CODES, describeType, fail } from './fail';
import type { ByteEncoding, Limits } from './types';

// Turns msg.payload (Buffer, string or parsed value) into what a codec reads, enforcing the size cap first.

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const WHITESPACE = /\s+/g;

function checkSize(length: number, limits: Limits): void {
  if (length > limits.maxBytes) {
    fail(CODES.tooLarge, `payload is ${length} bytes, over the ${limits.maxBytes} byte cap`, 'payload', { length });
  }
}

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** Text of a Buffer or string payload. */
export function toText(payload: unknown, limits: Limits): string {
  if (typeof payload === 'string') {
    checkSize(payload.length, limits);
    return payload;
  }
  if (isBytes(payload)) {
    checkSize(payload.length, limits);
    return Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8');
  }
  return fail(CODES.badPayload, `payload must be a string or Buffer, got ${describeType(payload)}`, 'payload');
}

/** Parses JSON text; an object or array already parsed is passed through. */
export function toParsed(payload: unknown, limits: Limits): unknown {
  if (typeof payload === 'string' || isBytes(payload)) {
    const text = toText(payload, limits);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      return fail(CODES.badPayload, `payload is not valid JSON: ${(err as Error).message}`, 'payload');
    }
  }
  if (payload !== null && typeof payload === 'object') return payload;
  return fail(CODES.badPayload, `payload must be JSON text, a Buffer or an object, got ${describeType(payload)}`, 'payload');
}

/** Bytes of a Buffer, a byte array, or a hex/base64 string. */
export function toBytes(payload: unknown, encoding: ByteEncoding, limits: Limits, field = 'payload'): Buffer {
  if (isBytes(payload)) {
    checkSize(payload.length, limits);
    return Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  }
  if (typeof payload === 'string') {
    checkSize(payload.length, limits);
    return decodeString(payload, encoding, field);
  }
  if (Array.isArray(payload)) {
    checkSize(payload.length, limits);
    const out = Buffer.allocUnsafe(payload.length);
    for (let i = 0; i < payload.length; i++) {
      const b: unknown = payload[i];
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) {
        fail(CODES.badPayload, `${field}[${i}] is not a byte (0..255)`, field);
      }
      out[i] = b;
    }
    return out;
  }
  return fail(CODES.badPayload, `${field} must be a Buffer, byte array, or hex/base64 string, got ${describeType(payload)}`, field);
}

function decodeString(text: string, encoding: ByteEncoding, field: string): Buffer {
  const compact = text.indexOf(' ') >= 0 || text.indexOf('\n') >= 0 ? text.replace(WHITESPACE, '') : text;
  const isHex = HEX.test(compact);
  if (encoding === 'hex' || (encoding === 'auto' && isHex)) {
    if (!isHex) fail(CODES.badPayload, `${field} is not hex (pairs of 0-9 a-f)`, field);
    return Buffer.from(compact, 'hex');
  }
  if (!BASE64.test(compact)) fail(CODES.badPayload, `${field} is neither hex nor base64`, field);
  return Buffer.from(compact, 'base64');
}
