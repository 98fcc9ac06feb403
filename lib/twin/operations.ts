import { M2MError } from '../errors';
import type { TwinDocument, TwinService } from './twin';

export const TWIN_OPERATIONS = ['desire', 'report', 'get'] as const;
export type TwinOperation = (typeof TWIN_OPERATIONS)[number];

export interface TwinRequest {
  operation: unknown;
  deviceId: unknown;
  /** The merge patch, for desire and report. */
  payload: unknown;
  ifVersion?: unknown;
}

export interface TwinOperationResult {
  operation: TwinOperation;
  twin: TwinDocument;
  /** False for get, and for a patch that changed nothing. */
  changed: boolean;
}

export function checkTwinOperation(operation: unknown): TwinOperation {
  if (typeof operation === 'string' && (TWIN_OPERATIONS as readonly string[]).includes(operation)) return operation as TwinOperation;
  throw new M2MError('UNKNOWN_OPERATION', `operation ${JSON.stringify(operation) ?? String(operation)} is not one of ${TWIN_OPERATIONS.join(', ')}`, {
    field: 'operation',
  });
}

/** Maps one request (from a msg) to a twin call. */
export async function runTwinOperation(twins: TwinService, request: TwinRequest): Promise<TwinOperationResult> {
  const operation = checkTwinOperation(request.operation);
  if (request.deviceId === undefined || request.deviceId === null || request.deviceId === '') {
    throw new M2MError('INVALID_DEVICE_ID', 'msg.deviceId is missing', { field: 'deviceId' });
  }
  if (operation === 'get') return { operation, twin: await twins.get(request.deviceId), changed: false };
  const options = { ifVersion: request.ifVersion };
  const result =
    operation === 'desire' ? await twins.desire(request.deviceId, request.payload, options) : await twins.report(request.deviceId, request.payload, options);
  return { operation, ...result };
}
