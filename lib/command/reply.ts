import { M2MError } from '../errors';
import { isPlainObject } from '../safe';
import type { ReplyInput } from './types';

/** A device's answer, reduced to what the tracker needs. */
export interface ParsedReply {
  id: string;
  /** The token that came back in MQTT 5 correlation data, if any. */
  token?: string;
  ok: boolean;
  response: unknown;
  error: string | null;
}

const SUCCESS = new Set(['ok', 'success', 'succeeded', 'done', 'accepted', 'true']);
const MAX_REPLY_BYTES = 1024 * 1024;

// `~` is neither in a command id (the device id alphabet) nor in base64url, so it cannot be confused with either.
const TOKEN_SEPARATOR = '~';

/** The MQTT 5 correlation data of a command: its id and the token that binds a reply to the device. */
export function correlationData(id: string, token: string): Buffer {
  return Buffer.from(`${id}${TOKEN_SEPARATOR}${token}`);
}

/** Reads correlation data as `<id>~<token>`, or a bare id (what the first release sent). */
function readCorrelation(data: unknown): { id: string; token?: string } | undefined {
  let text: string | undefined;
  if (typeof data === 'string') text = data;
  else if (data instanceof Uint8Array && data.length <= 512) text = Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8');
  if (!text) return undefined;
  const at = text.indexOf(TOKEN_SEPARATOR);
  if (at < 0) return { id: text };
  return at === 0 ? undefined : { id: text.slice(0, at), token: text.slice(at + 1) };
}

function parseBody(payload: unknown, topic: unknown): unknown {
  let text: string | undefined;
  if (typeof payload === 'string') text = payload;
  else if (payload instanceof Uint8Array) text = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8');
  if (text === undefined) return payload;
  if (text.length > MAX_REPLY_BYTES) throw new M2MError('BAD_REPLY', `reply on ${String(topic)} is larger than ${MAX_REPLY_BYTES} bytes`, { field: 'payload' });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const shown = text.length > 40 ? `${text.slice(0, 39)}…` : text;
    throw new M2MError('BAD_REPLY', `reply on ${String(topic ?? '(no topic)')} is not JSON: ${JSON.stringify(shown)}`, { field: 'payload' });
  }
}

function errorText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isPlainObject(value) && typeof value.message === 'string') return value.message;
  return value === undefined || value === null ? 'device reported failure' : JSON.stringify(value);
}

/**
 * Reads a reply: MQTT 5 style (the id in `correlationData`, any JSON payload) or MQTT 3.1.1 style (the payload
 * `{ id, status, result }`). `status` "ok"/"success"/"succeeded"/"done"/"accepted"/true, or no status and
 * no `error`, is success; any other status is failure. A payload that is not JSON throws BAD_REPLY.
 */
export function parseReply(input: ReplyInput): ParsedReply {
  const body = parseBody(input.payload, input.topic);
  const correlation = readCorrelation(input.correlationData);
  const object = isPlainObject(body) ? body : undefined;
  const fromPayload = object && (typeof object.id === 'string' || typeof object.id === 'number') ? String(object.id) : undefined;
  const id = correlation?.id ?? fromPayload;
  if (!id) {
    throw new M2MError('BAD_REPLY', `reply on ${String(input.topic ?? '(no topic)')} has no command id: expected msg.correlationData or payload.id`, {
      field: 'payload',
    });
  }
  const token = correlation?.token;
  if (!object) return { id, token, ok: true, response: body, error: null };
  const status = object.status;
  const ok =
    status === undefined || status === null
      ? object.error === undefined || object.error === null
      : status === true || SUCCESS.has(String(status).toLowerCase());
  const response = 'result' in object ? object.result : fromPayload !== undefined ? null : body;
  return { id, token, ok, response: response ?? null, error: ok ? null : errorText(object.error ?? object.result ?? status) };
}
