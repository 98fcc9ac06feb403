import type { StatusEvent } from '../command/types';
import { M2MError, describeValue } from '../errors';
import { isHostileKey } from '../safe';
import { DATATYPES, encodeSparkplugPayload, type DatatypeName, type MetricToEncode } from '../telemetry/sparkplug-codec';
import type { HostEvent, MetricInfo, SparkplugHost } from './host';
import { datatypeName, type SparkplugValue } from './values';

// Commands to edge nodes and devices (Sparkplug 3.0, section 6.4 NCMD/DCMD): metrics written by name, each encoded
// with the alias and datatype its birth declared, as a protobuf (never JSON: an edge client cannot decode it).
// Sparkplug has no replies, so a write succeeds when every written value comes back in a later NDATA/DDATA or
// birth of that edge node or device, fails when it dies, and times out otherwise.

export interface WriteRequest {
  id: string;
  /** The registry id: `group:node` (NCMD) or `group:node:device` (DCMD). */
  deviceId: string;
  command: string;
  /** `{ metric: value }`; any other payload writes the metric named by `command`. */
  params: unknown;
  timeoutMs: number;
}

export interface CommandsOptions {
  host: SparkplugHost;
  publish(topic: string, payload: Buffer): void;
  onStatus(event: StatusEvent): void;
  now?: () => number;
}

interface PendingWrite {
  request: WriteRequest;
  expected: Map<string, string>;
  confirmed: Record<string, SparkplugValue>;
  startedAt: number;
  timer: NodeJS.Timeout;
}

const NAMES = Object.fromEntries(Object.entries(DATATYPES).map(([name, n]) => [n, name as DatatypeName])) as Record<number, DatatypeName>;
const INTEGER_RANGE: Partial<Record<DatatypeName, [bigint, bigint]>> = {
  Int8: [-128n, 127n],
  Int16: [-32768n, 32767n],
  Int32: [-(2n ** 31n), 2n ** 31n - 1n],
  Int64: [-(2n ** 63n), 2n ** 63n - 1n],
  UInt8: [0n, 255n],
  UInt16: [0n, 65535n],
  UInt32: [0n, 2n ** 32n - 1n],
  UInt64: [0n, 2n ** 64n - 1n],
  DateTime: [0n, 2n ** 64n - 1n],
};

export class SparkplugCommands {
  private readonly pending = new Map<string, PendingWrite[]>();
  private readonly now: () => number;

  constructor(private readonly options: CommandsOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    let n = 0;
    for (const list of this.pending.values()) n += list.length;
    return n;
  }

  /** Encodes and publishes the write, then reports `sent`; throws M2MError (nothing published) when it cannot be encoded. */
  write(request: WriteRequest): StatusEvent {
    const startedAt = this.now();
    const { topic, payload, expected, type } = this.encode(request, startedAt);
    this.options.publish(topic, payload);
    const pending: PendingWrite = {
      request,
      expected,
      confirmed: {},
      startedAt,
      timer: setTimeout(
        () =>
          this.finish(pending, 'timeout', `no ${type === 'NCMD' ? 'NDATA' : 'DDATA'} or birth brought the written value back within ${request.timeoutMs} ms`),
        request.timeoutMs,
      ),
    };
    const list = this.pending.get(request.deviceId) ?? [];
    list.push(pending);
    this.pending.set(request.deviceId, list);
    return this.event(pending, 'sent', null);
  }

  /** Encodes and publishes the write, keeping nothing: whoever sent it (m2m-command's tracker) watches for its confirmation. Throws M2MError, nothing published, when it cannot be encoded. */
  publishWrite(request: Pick<WriteRequest, 'deviceId' | 'command' | 'params'>): void {
    const { topic, payload } = this.encode(request, this.now());
    this.options.publish(topic, payload);
  }

  /** The NCMD/DCMD for a write to an online edge node or device; throws M2MError when it cannot be encoded. */
  encode(
    request: Pick<WriteRequest, 'deviceId' | 'command' | 'params'>,
    timestamp: number,
  ): { topic: string; payload: Buffer; expected: Map<string, string>; type: 'NCMD' | 'DCMD' } {
    const target = this.options.host.findById(request.deviceId);
    if (!target) {
      throw new M2MError('DEVICE_NOT_FOUND', `${request.deviceId} is not an online Sparkplug edge node or device (group:node or group:node:device)`, {
        field: 'deviceId',
      });
    }
    const catalog = this.options.host.catalog(target.group, target.node, target.device);
    const writes = writesOf(request);
    const metrics: MetricToEncode[] = [];
    const expected = new Map<string, string>();
    for (const [name, value] of writes) {
      const info = catalog?.get(name);
      if (!info) throw new M2MError('UNKNOWN_COMMAND', `the birth of ${request.deviceId} declares no metric "${name}"`, { field: 'payload' });
      const metric = encodable(info, value, request.deviceId);
      metrics.push(metric);
      expected.set(name, comparable(metric.value, metric.type));
    }
    const type = target.device === undefined ? 'NCMD' : 'DCMD';
    const topic = `spBv1.0/${target.group}/${type}/${target.node}${target.device === undefined ? '' : `/${target.device}`}`;
    return { topic, payload: encodeSparkplugPayload({ timestamp, metrics }), expected, type };
  }

  /** Host events: data and births confirm writes, a death fails them. */
  observe(events: readonly HostEvent[]): void {
    if (this.pending.size === 0) return;
    for (const event of events) {
      const list = this.pending.get(event.id);
      if (!list) continue;
      if (event.kind === 'death') {
        for (const pending of [...list]) this.finish(pending, 'failed', `${event.id} went offline before the written value came back`);
      } else if (event.kind === 'data') {
        for (const record of event.records) this.confirm(list, record.values);
      } else if (event.kind === 'birth') {
        const values: Record<string, SparkplugValue> = {};
        for (const metric of event.metrics) if (metric.value !== undefined) values[metric.name] = metric.value;
        this.confirm(list, values);
      }
    }
  }

  /** Ends every pending write as canceled (the node is closing). */
  close(): void {
    for (const list of [...this.pending.values()]) for (const pending of [...list]) this.finish(pending, 'canceled', 'the host node was closed');
  }

  private confirm(list: PendingWrite[], values: Record<string, SparkplugValue>): void {
    for (const pending of [...list]) {
      for (const [name, want] of pending.expected) {
        const got = values[name];
        if (got !== undefined && got !== null && comparableReported(got) === want) {
          pending.confirmed[name] = got;
          pending.expected.delete(name);
        }
      }
      if (pending.expected.size === 0) this.finish(pending, 'succeeded', null);
    }
  }

  private finish(pending: PendingWrite, status: StatusEvent['status'], error: string | null): void {
    clearTimeout(pending.timer);
    const list = this.pending.get(pending.request.deviceId);
    const at = list?.indexOf(pending) ?? -1;
    if (!list || at < 0) return;
    list.splice(at, 1);
    if (list.length === 0) this.pending.delete(pending.request.deviceId);
    this.options.onStatus(this.event(pending, status, error));
  }

  private event(pending: PendingWrite, status: StatusEvent['status'], error: string | null): StatusEvent {
    const ts = this.now();
    const { id, deviceId, command } = pending.request;
    return {
      id,
      deviceId,
      command,
      status,
      attempts: 1,
      response: status === 'succeeded' ? pending.confirmed : null,
      error,
      latencyMs: ts - pending.startedAt,
      ts,
    };
  }
}

/** The metrics a write sets: `{ metric: value }`, or the metric named by the command set to the payload. */
export function writesOf(request: Pick<WriteRequest, 'command' | 'params'>): [string, unknown][] {
  const params = request.params;
  const entries =
    params !== null && typeof params === 'object' && !Array.isArray(params) && !Buffer.isBuffer(params)
      ? Object.entries(params)
      : [[request.command, params] as [string, unknown]];
  if (entries.length === 0) throw new M2MError('INVALID_FIELD', 'msg.payload names no metric to write', { field: 'payload' });
  for (const [name] of entries) if (isHostileKey(name)) throw new M2MError('HOSTILE_KEY', `metric name "${name}" is not allowed`, { field: 'payload' });
  return entries;
}

/** The metric as it goes on the wire, its value checked against the birth's datatype. */
function encodable(info: MetricInfo, value: unknown, deviceId: string): MetricToEncode {
  const type = info.datatype === undefined ? undefined : NAMES[info.datatype];
  const refuse = (why: string): never => {
    throw new M2MError('INVALID_FIELD', `${deviceId} metric "${info.name}" is ${datatypeName(info.datatype)}: ${why} (got ${describeValue(value)})`, {
      field: 'payload',
    });
  };
  if (type === undefined || type === 'DataSet' || type === 'Template' || type === 'Bytes' || type === 'File') return refuse('not writable by a command');
  const base = { name: info.name, alias: info.alias, type };
  const range = INTEGER_RANGE[type];
  if (range) {
    if (!(typeof value === 'number' && Number.isSafeInteger(value)) && !(typeof value === 'string' && /^-?\d{1,20}$/.test(value)))
      return refuse('needs an integer');
    const n = BigInt(value);
    if (n < range[0] || n > range[1]) return refuse(`needs an integer from ${range[0]} to ${range[1]}`);
    return { ...base, value: typeof value === 'number' ? value : n };
  }
  if (type === 'Float' || type === 'Double') {
    if (typeof value !== 'number' || !Number.isFinite(value)) return refuse('needs a finite number');
    return { ...base, value };
  }
  if (type === 'Boolean') return typeof value === 'boolean' ? { ...base, value } : refuse('needs true or false');
  return typeof value === 'string' ? { ...base, value } : refuse('needs a string');
}

/** The written value as text, as it will read when it comes back (a Float is rounded to 32 bits on the wire). */
function comparable(value: MetricToEncode['value'], type: DatatypeName): string {
  if (type === 'Float') return String(Math.fround(value as number));
  return String(value);
}

export function comparableReported(value: SparkplugValue): string {
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' ? String(value) : '';
}
