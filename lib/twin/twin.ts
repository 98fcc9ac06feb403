import { EventEmitter } from 'events';
import type { ValidateFunction } from 'ajv';
import { M2MError, errorMessage } from '../errors';
import { checkDeviceId } from '../ids';
import { KeyedQueue } from '../keyed-queue';
import type { DeviceEvent, DeviceRegistryApi, DeviceType, StateMap } from '../registry/types';
import { compileSchema, describeSchemaErrors } from '../schema';
import { computeDelta, isEmpty } from './delta';
import { frozenJsonObject, jsonBytes, type JsonObject } from './json';
import { applyMergePatch } from './merge-patch';
import { readRecord, TWIN_NAMESPACE, twinRecord, type TwinRecord, type TwinSide } from './record';

/** The largest desired or reported document, as UTF-8 JSON. */
export const DEFAULT_MAX_TWIN_BYTES = 64 * 1024;
/** How deeply objects and arrays may nest in a desired or reported document (the document itself is level 1). */
export const DEFAULT_MAX_TWIN_DEPTH = 10;

/** A device type's twin schemas; the lead may move them into DeviceType itself. */
/** The device type's desiredSchema and reportedSchema (compiled at deploy by the registry) steer the twin. */
export type TwinDeviceType = DeviceType;

export type TwinSideName = 'desired' | 'reported';

/** A twin as the flow sees it. */
export interface TwinDocument {
  deviceId: string;
  desired: JsonObject;
  reported: JsonObject;
  /** The desired keys whose value differs from the reported one; empty when the device is in sync. */
  delta: JsonObject;
  desiredVersion: number;
  reportedVersion: number;
  /** When each top-level key last changed, ms since epoch. */
  metadata: { desired: Readonly<Record<string, number>>; reported: Readonly<Record<string, number>> };
}

export interface TwinResult {
  twin: TwinDocument;
  /** False when the patch changed nothing (no write, no new version, no event). */
  changed: boolean;
}

export interface TwinEvent {
  /** `delta`: the device has something to apply; `synced`: a report has just applied all of it. */
  event: 'delta' | 'synced';
  deviceId: string;
  delta: JsonObject;
  desiredVersion: number;
  reportedVersion: number;
  ts: number;
}

export interface TwinOptions {
  maxBytes?: number;
  maxDepth?: number;
}

export interface PatchOptions {
  /** Apply only when the document changed is at this version; VERSION_CONFLICT otherwise. */
  ifVersion?: unknown;
}

interface TypeSchemas {
  desired?: ValidateFunction;
  reported?: ValidateFunction;
  /** Why the type's twin schemas cannot be used (INVALID_SCHEMA, UNSAFE_PATTERN). */
  refused?: unknown;
}

/**
 * Device twins of one registry: a desired and a reported document per device, kept in the registry's store
 * (state namespace `twin`), so the memory, file and Redis stores all hold them. Operations on one device run
 * one after another, in the order they were asked; each is acknowledged once the store has it. Emits `twin`
 * (TwinEvent) for deltas and syncs, and `warning` (a string) for what failed outside any operation.
 */
export class TwinService extends EventEmitter {
  private readonly queue = new KeyedQueue();
  private readonly schemas = new WeakMap<DeviceType, TypeSchemas>();
  private readonly maxBytes: number;
  private readonly maxDepth: number;
  private readonly onDevice = (e: DeviceEvent): void => this.deviceEvent(e);

  private constructor(
    private readonly registry: DeviceRegistryApi,
    private readonly state: StateMap,
    options: TwinOptions,
  ) {
    super();
    this.maxBytes = checkLimit(options.maxBytes ?? DEFAULT_MAX_TWIN_BYTES, 'maxBytes');
    this.maxDepth = checkLimit(options.maxDepth ?? DEFAULT_MAX_TWIN_DEPTH, 'maxDepth');
    registry.on('device', this.onDevice);
  }

  /** The twins of `registry`, once its store is loaded. Prefer twinsOf, which shares one service per registry. */
  static async open(registry: DeviceRegistryApi, options: TwinOptions = {}): Promise<TwinService> {
    return new TwinService(registry, await registry.state(TWIN_NAMESPACE), options);
  }

  /** Merges `patch` into the desired document. */
  desire(deviceId: unknown, patch: unknown, options: PatchOptions = {}): Promise<TwinResult> {
    return this.change('desired', deviceId, patch, options);
  }

  /** Merges `patch` into the reported document. */
  report(deviceId: unknown, patch: unknown, options: PatchOptions = {}): Promise<TwinResult> {
    return this.change('reported', deviceId, patch, options);
  }

  /** The twin of a registered device, after the operations on it that were asked before. */
  get(deviceId: unknown): Promise<TwinDocument> {
    return settled(() => {
      const id = checkDeviceId(deviceId);
      return this.queue.run(id, () => {
        const record = this.read(id);
        return document(id, record, computeDelta(record.desired.doc, record.reported.doc));
      });
    });
  }

  /** Stops following the registry's device events. */
  close(): void {
    this.registry.off('device', this.onDevice);
  }

  private change(side: TwinSideName, deviceId: unknown, patch: unknown, options: PatchOptions): Promise<TwinResult> {
    return settled(() => {
      const id = checkDeviceId(deviceId);
      const ifVersion = checkIfVersion(options.ifVersion);
      // checked and copied now: the flow may change its message while this waits for earlier operations
      const frozen = frozenJsonObject(patch, 'payload', this.maxDepth);
      return this.queue.run(id, () => this.apply(side, id, frozen, ifVersion));
    });
  }

  private async apply(side: TwinSideName, id: string, patch: JsonObject, ifVersion: number | undefined): Promise<TwinResult> {
    const previous = this.read(id);
    const before = previous[side];
    if (ifVersion !== undefined && ifVersion !== before.version) {
      throw new M2MError(
        'VERSION_CONFLICT',
        `the ${side} document of ${id} is at version ${before.version}, not ${ifVersion} (msg.ifVersion); read it again and retry`,
        {
          field: 'ifVersion',
          details: { deviceId: id, version: before.version },
        },
      );
    }
    const { doc, changedKeys } = applyMergePatch(before.doc, patch);
    if (changedKeys.length === 0) return { twin: document(id, previous, computeDelta(previous.desired.doc, previous.reported.doc)), changed: false };
    const bytes = jsonBytes(doc);
    if (bytes > this.maxBytes) {
      throw new M2MError(
        'TWIN_TOO_LARGE',
        `the ${side} document of ${id} would be ${bytes} bytes as JSON; at most ${this.maxBytes} are kept. Nothing was changed`,
        {
          field: 'payload',
          details: { deviceId: id, bytes, limit: this.maxBytes },
        },
      );
    }
    this.validate(id, side, doc);
    const after = nextSide(before, doc, changedKeys);
    const record = side === 'desired' ? twinRecord(after, previous.reported) : twinRecord(previous.desired, after);
    await this.write(id, record);
    const delta = computeDelta(record.desired.doc, record.reported.doc);
    this.announce(side, id, previous, record, delta);
    return { twin: document(id, record, delta), changed: true };
  }

  /** The twin of a registered device; DEVICE_NOT_FOUND otherwise. */
  private read(id: string): TwinRecord {
    if (!this.registry.has(id)) throw new M2MError('DEVICE_NOT_FOUND', `device ${id} is not registered`, { field: 'deviceId' });
    return readRecord(id, this.state.get(id), this.maxDepth);
  }

  /** Stores the record; when the store refuses it, the state map is given back what it held before. */
  private async write(id: string, record: TwinRecord): Promise<void> {
    const held = this.state.get(id);
    try {
      await this.state.set(id, record);
    } catch (err) {
      // the state map holds the new value in memory before its write resolves: put the old one back
      const restore = held === undefined ? this.state.delete(id) : this.state.set(id, held);
      restore.catch(() => undefined);
      throw err;
    }
  }

  private validate(id: string, side: TwinSideName, doc: JsonObject): void {
    const validate = this.schemasOf(id)[side];
    if (validate === undefined || validate(doc)) return;
    const problems = describeSchemaErrors(validate.errors);
    throw new M2MError('SCHEMA_VALIDATION', `${side} of ${id} failed the ${side}Schema of its device type: ${problems.join('; ')}. Nothing was changed`, {
      field: 'payload',
      details: problems,
    });
  }

  /** The compiled twin schemas of the device's type, compiled once per type; a refused schema is refused again without a new compile. */
  private schemasOf(id: string): TypeSchemas {
    const typeName = this.registry.get(id)?.type;
    const type = typeName ? (this.registry.getType(typeName) as TwinDeviceType | undefined) : undefined;
    if (type === undefined) return {};
    let schemas = this.schemas.get(type);
    if (schemas === undefined) {
      schemas = {};
      try {
        if (type.desiredSchema !== undefined) schemas.desired = compileSchema(type.desiredSchema, `device type ${JSON.stringify(type.name)} desiredSchema`);
        if (type.reportedSchema !== undefined) schemas.reported = compileSchema(type.reportedSchema, `device type ${JSON.stringify(type.name)} reportedSchema`);
      } catch (err) {
        schemas = { refused: err };
      }
      this.schemas.set(type, schemas);
    }
    if (schemas.refused !== undefined) throw schemas.refused;
    return schemas;
  }

  /** `delta` after a change that leaves something to apply; `synced` when a report applied the last of it. */
  private announce(side: TwinSideName, id: string, previous: TwinRecord, record: TwinRecord, delta: JsonObject): void {
    if (!isEmpty(delta)) {
      this.emitTwin('delta', id, delta, record);
    } else if (side === 'reported' && !isEmpty(computeDelta(previous.desired.doc, previous.reported.doc))) {
      this.emitTwin('synced', id, delta, record);
    }
  }

  private emitTwin(event: TwinEvent['event'], deviceId: string, delta: JsonObject, record: TwinRecord): void {
    const e: TwinEvent = { event, deviceId, delta, desiredVersion: record.desired.version, reportedVersion: record.reported.version, ts: Date.now() };
    this.emit('twin', e);
  }

  private deviceEvent(e: DeviceEvent): void {
    if (e.event === 'online') this.inOrder(e.deviceId, () => this.remind(e.deviceId));
    else if (e.event === 'removed') this.inOrder(e.deviceId, () => this.state.delete(e.deviceId));
  }

  /** A device back online hears what it missed while away. */
  private remind(id: string): void {
    if (!this.registry.has(id)) return;
    const record = readRecord(id, this.state.get(id), this.maxDepth);
    const delta = computeDelta(record.desired.doc, record.reported.doc);
    if (!isEmpty(delta)) this.emitTwin('delta', id, delta, record);
  }

  /** Runs work for a device event after the device's pending operations; a failure becomes a `warning`. */
  private inOrder(id: string, task: () => void | Promise<void>): void {
    const warn = (err: unknown): void => {
      this.emit('warning', `twin of ${id}: ${errorMessage(err)}`);
    };
    try {
      const result = this.queue.run(id, task);
      if (result instanceof Promise) result.catch(warn);
    } catch (err) {
      warn(err);
    }
  }
}

/** What `task` returns, or throws, as a promise. */
function settled<T>(task: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(task());
  } catch (err) {
    return Promise.reject(err);
  }
}

function nextSide(before: TwinSide, doc: JsonObject, changedKeys: string[]): TwinSide {
  const now = Date.now();
  const updatedAt: Record<string, number> = { ...before.updatedAt };
  for (const key of changedKeys) {
    if (Object.prototype.hasOwnProperty.call(doc, key)) updatedAt[key] = now;
    else delete updatedAt[key];
  }
  return Object.freeze({ doc, version: before.version + 1, updatedAt: Object.freeze(updatedAt) });
}

function document(deviceId: string, record: TwinRecord, delta: JsonObject): TwinDocument {
  return {
    deviceId,
    desired: record.desired.doc,
    reported: record.reported.doc,
    delta,
    desiredVersion: record.desired.version,
    reportedVersion: record.reported.version,
    metadata: { desired: record.desired.updatedAt, reported: record.reported.updatedAt },
  };
}

function checkIfVersion(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new M2MError('INVALID_FIELD', `msg.ifVersion must be a whole number 0 or more, got ${JSON.stringify(value) ?? String(value)}`, {
      field: 'ifVersion',
    });
  }
  return value;
}

function checkLimit(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new M2MError('INVALID_CONFIG', `${field} must be a whole number from 1, got ${value}`, { field });
  return value;
}

const services = new WeakMap<DeviceRegistryApi, Promise<TwinService>>();

/**
 * The one twin service of `registry`, shared by every node that uses it, so that operations on a device are
 * ordered across nodes and each device event is handled once. Resolves once the registry's store is loaded.
 */
export function twinsOf(registry: DeviceRegistryApi): Promise<TwinService> {
  let service = services.get(registry);
  if (service === undefined) {
    service = TwinService.open(registry);
    services.set(registry, service);
    // a registry whose store never loaded can be asked again later
    service.catch(() => services.delete(registry));
  }
  return service;
}
