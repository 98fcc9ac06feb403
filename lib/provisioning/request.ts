import { M2MError, describeValue } from '../errors';
import { checkDeviceId, isDeviceId } from '../ids';
import { isPlainObject } from '../safe';
import { checkAttributes } from '../registry/validate';

/** What a device publishes to enrol itself. */
export interface ProvisionRequest {
  provisionKey: string;
  provisionSecret: string;
  /** Becomes the device id (and its name), so it must be a valid device id. */
  deviceName: string;
  attributes?: Record<string, unknown>;
}

/** A request message as it arrives from `mqtt in` (3.1.1 or 5). */
export interface IncomingRequest {
  topic?: unknown;
  payload: unknown;
  /** MQTT 5: where the device wants the answer, and the data to send back with it. */
  responseTopic?: unknown;
  correlationData?: unknown;
}

/** Where an answer goes. */
export interface AnswerTarget {
  topic: string;
  correlationData?: Buffer;
}

// A request is a few hundred bytes; anything much larger is not one, and is not parsed.
export const MAX_REQUEST_BYTES = 16 * 1024;
const MAX_FIELD_LENGTH = 512;

/**
 * Where to answer: the MQTT 5 response topic when the device gave one; otherwise `<prefix>/<clientId>`, the client
 * id being the topic level after the request topic (`provision/request/<clientId>`) or the request's `clientId`.
 * A client id must be a valid device id, so it cannot add a topic level or a wildcard. Undefined when none is known.
 */
export function answerTarget(
  incoming: IncomingRequest,
  requestTopic: string,
  responsePrefix: string,
  body?: Record<string, unknown>,
): AnswerTarget | undefined {
  const correlationData = incoming.correlationData instanceof Uint8Array ? Buffer.from(incoming.correlationData) : undefined;
  if (typeof incoming.responseTopic === 'string' && incoming.responseTopic !== '' && !/[+#\0]/.test(incoming.responseTopic)) {
    return correlationData ? { topic: incoming.responseTopic, correlationData } : { topic: incoming.responseTopic };
  }
  const topic = typeof incoming.topic === 'string' ? incoming.topic : '';
  const fromTopic = topic.startsWith(`${requestTopic}/`) ? topic.slice(requestTopic.length + 1) : undefined;
  const clientId = isDeviceId(fromTopic) ? fromTopic : isDeviceId(body?.clientId) ? body.clientId : undefined;
  return clientId === undefined ? undefined : { topic: `${responsePrefix}/${clientId}` };
}

/** The request body as an object, from a JSON string, a Buffer or an object; INVALID_PAYLOAD otherwise. */
export function requestBody(payload: unknown): Record<string, unknown> {
  let body = payload;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    if (body.length > MAX_REQUEST_BYTES)
      throw new M2MError('PAYLOAD_TOO_LARGE', `a provisioning request is at most ${MAX_REQUEST_BYTES} bytes, got ${body.length}`, { field: 'payload' });
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    try {
      body = JSON.parse(text);
    } catch {
      throw new M2MError('INVALID_PAYLOAD', 'the provisioning request is not JSON', { field: 'payload' });
    }
  }
  if (!isPlainObject(body))
    throw new M2MError(
      'INVALID_PAYLOAD',
      `the provisioning request must be a JSON object { provisionKey, provisionSecret, deviceName, attributes? }, got ${describeValue(body, 40)}`,
      { field: 'payload' },
    );
  return body;
}

/** Checks every field; INVALID_FIELD (naming it) or INVALID_DEVICE_ID when one is missing or wrong. */
export function parseRequest(body: Record<string, unknown>): ProvisionRequest {
  const provisionKey = textField(body, 'provisionKey');
  const provisionSecret = textField(body, 'provisionSecret');
  if (body.deviceName === undefined) throw new M2MError('INVALID_FIELD', 'the provisioning request has no deviceName', { field: 'deviceName' });
  const deviceName = checkDeviceId(body.deviceName, 'deviceName');
  const request: ProvisionRequest = { provisionKey, provisionSecret, deviceName };
  if (body.attributes !== undefined) request.attributes = checkAttributes(body.attributes);
  return request;
}

function textField(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (value === undefined) throw new M2MError('INVALID_FIELD', `the provisioning request has no ${field}`, { field });
  if (typeof value !== 'string' || value === '' || value.length > MAX_FIELD_LENGTH) {
    throw new M2MError('INVALID_FIELD', `${field} must be text of 1 to ${MAX_FIELD_LENGTH} characters`, { field });
  }
  return value;
}
