import { M2MError, describeValue } from '../errors';
import { isPlainObject } from '../safe';
import { readPresence, type PresenceSource } from './presence';
import type { DeviceInput, DevicePatch, DeviceRecord, DevicePage, DeviceRegistryApi, ListFilter } from './types';

export const DEVICE_OPERATIONS = ['register', 'get', 'update', 'remove', 'list', 'touch', 'verify', 'online', 'offline', 'presence'] as const;
export type DeviceOperation = (typeof DEVICE_OPERATIONS)[number];

export interface OperationRequest {
  operation: unknown;
  /** msg.deviceId; for register and update it may also come from payload.id. */
  deviceId: unknown;
  payload: unknown;
  /** msg.token, for verify. */
  token?: unknown;
  /** msg.topic, for presence (broker event and Sparkplug topics). */
  topic?: unknown;
  /** msg.at, for online/offline/presence: when it happened (ms since 1970); now when absent. */
  at?: unknown;
}

export interface OperationOptions {
  upsert: boolean;
  issueToken: boolean;
  autoRegister: boolean;
  /** Device type given to auto-registered devices. */
  autoType?: string;
  pageSize: number;
}

export type OperationResult =
  | { operation: 'register'; payload: DeviceRecord; created: boolean; token?: string }
  | { operation: 'get' | 'update' | 'remove' | 'touch'; payload: DeviceRecord }
  | { operation: 'list'; payload: DevicePage }
  | { operation: 'verify'; payload: { deviceId: string; verified: boolean } }
  /** presence resolves to online or offline; `changed` says whether the device's presence changed. */
  | { operation: 'online' | 'offline'; payload: DeviceRecord; changed: boolean; source?: PresenceSource };

export function checkOperation(operation: unknown): DeviceOperation {
  if (typeof operation === 'string' && (DEVICE_OPERATIONS as readonly string[]).includes(operation)) return operation as DeviceOperation;
  throw new M2MError('UNKNOWN_OPERATION', `operation ${describeValue(operation)} is not one of ${DEVICE_OPERATIONS.join(', ')}`, { field: 'operation' });
}

/** Maps one request (from a msg) to a registry call. Nothing is changed when the request is invalid. */
export async function runOperation(registry: DeviceRegistryApi, request: OperationRequest, options: OperationOptions): Promise<OperationResult> {
  const operation = checkOperation(request.operation);
  const body = isPlainObject(request.payload) ? request.payload : undefined;
  const deviceId = request.deviceId ?? body?.id ?? body?.deviceId;
  switch (operation) {
    case 'register': {
      const input = requireBody(body, operation) as Partial<DeviceInput>;
      const result = await registry.register({ ...input, id: deviceId as string }, { upsert: options.upsert, issueToken: options.issueToken });
      return { operation, payload: result.device, created: result.created, token: result.token };
    }
    case 'get': {
      const device = registry.get(requireId(deviceId));
      if (!device) throw new M2MError('DEVICE_NOT_FOUND', `device ${String(deviceId)} is not registered`, { field: 'deviceId' });
      return { operation, payload: device };
    }
    case 'update': {
      const patch = requireBody(body, operation) as DevicePatch & { id?: unknown; deviceId?: unknown };
      const { id: _id, deviceId: _deviceId, ...fields } = patch;
      return { operation, payload: await registry.update(requireId(deviceId), fields) };
    }
    case 'remove':
      return { operation, payload: await registry.remove(requireId(deviceId)) };
    case 'touch':
      return { operation, payload: await registry.touch(requireId(deviceId), { autoRegister: options.autoRegister, type: options.autoType || undefined }) };
    case 'list': {
      const filter: ListFilter = { pageSize: options.pageSize, ...listFilterFrom(body) };
      return { operation, payload: registry.list(filter) };
    }
    case 'verify': {
      const token = request.token ?? body?.token;
      const id = requireId(deviceId);
      return { operation, payload: { deviceId: id, verified: await registry.verify(id, token as string) } };
    }
    case 'online':
    case 'offline':
      return await markPresence(registry, operation, requireId(request.deviceId ?? body?.deviceId), request.at);
    case 'presence': {
      const mark = readPresence({ topic: request.topic, payload: request.payload });
      const id = requireId(request.deviceId ?? mark.deviceId);
      return { ...(await markPresence(registry, mark.state, id, request.at ?? mark.at)), source: mark.source };
    }
  }
}

type PresenceResult = Extract<OperationResult, { operation: 'online' | 'offline' }>;

/** Marks the device and answers once the mark is stored, so a result means it survives a restart. */
async function markPresence(registry: DeviceRegistryApi, state: 'online' | 'offline', id: string, at: unknown): Promise<PresenceResult> {
  if (at !== undefined && (typeof at !== 'number' || !Number.isFinite(at) || at < 0)) {
    throw new M2MError('INVALID_FIELD', `msg.at must be a time in ms since 1970, not ${describeValue(at)}`, { field: 'at' });
  }
  const changed = state === 'online' ? registry.markOnline(id, at) : registry.markOffline(id, at);
  await registry.presenceStored(id);
  const device = registry.get(id) as DeviceRecord;
  return { operation: state, payload: device, changed };
}

/**
 * Removes the plaintext credential of a verify from the message (msg.token, or msg.payload.token) and returns
 * it, so that it travels no further than the check: not to the next node, not to a Catch node.
 */
export function takeToken(msg: { token?: unknown; payload?: unknown }): unknown {
  const body = isPlainObject(msg.payload) ? msg.payload : undefined;
  const token = msg.token ?? body?.token;
  delete msg.token;
  if (body) delete body.token;
  return token;
}

/** A list filter from msg.payload; query strings (an `http in` GET) arrive as text and are converted. */
function listFilterFrom(body: Record<string, unknown> | undefined): ListFilter {
  if (!body) return {};
  const filter: ListFilter = {};
  if (body.type !== undefined) filter.type = String(body.type);
  if (body.tag !== undefined) filter.tag = String(body.tag);
  if (body.online !== undefined) filter.online = body.online === true || body.online === 'true';
  if (body.page !== undefined) filter.page = Number(body.page);
  if (body.pageSize !== undefined) filter.pageSize = Number(body.pageSize);
  return filter;
}

function requireId(deviceId: unknown): string {
  if (deviceId === undefined || deviceId === null || deviceId === '') {
    throw new M2MError('INVALID_DEVICE_ID', 'msg.deviceId is missing', { field: 'deviceId' });
  }
  return deviceId as string;
}

function requireBody(body: Record<string, unknown> | undefined, operation: string): Record<string, unknown> {
  if (!body) throw new M2MError('INVALID_FIELD', `${operation} needs msg.payload to be an object`, { field: 'payload' });
  return body;
}
