import { get as sparkplugNamespace } from 'sparkplug-payload';
import type { UMetric, UPayload } from 'sparkplug-payload/lib/sparkplugbpayload';
import { CODES, fail, setMetric, tooManyRecords } from './fail';
import type { Limits, MetricValue, TelemetryRecord } from './types';

// Sparkplug B: NBIRTH/DBIRTH/NDATA/DDATA/NDEATH/DDEATH on spBv1.0/<group>/<type>/<node>[/<device>].
// Births teach metric aliases; data may then carry aliases only. A seq gap, data before a birth or an
// unknown alias means this node has lost state, so the session asks the edge node to rebirth (an NCMD).

const codec = sparkplugNamespace('spBv1.0') as NonNullable<ReturnType<typeof sparkplugNamespace>>;

export type SparkplugMessageType = 'NBIRTH' | 'DBIRTH' | 'NDATA' | 'DDATA' | 'NDEATH' | 'DDEATH' | 'NCMD' | 'DCMD' | 'STATE';
const MESSAGE_TYPES = new Set<string>(['NBIRTH', 'DBIRTH', 'NDATA', 'DDATA', 'NDEATH', 'DDEATH']);
/** Commands and host state share the namespace (a spBv1.0/# subscription sees them, our rebirth NCMDs too); they carry no telemetry. */
const NOT_TELEMETRY = new Set<string>(['NCMD', 'DCMD']);

export interface SparkplugTopic {
  group: string;
  type: SparkplugMessageType;
  node: string;
  device?: string;
}

export interface RebirthRequest {
  topic: string;
  payload: Buffer;
  reason: string;
}

export interface SparkplugResult {
  records: TelemetryRecord[];
  rebirth?: RebirthRequest;
  topic: SparkplugTopic;
  seq?: number;
  unknownAliases?: number[];
}

interface DeviceState {
  aliases: Map<number, string>;
}

interface NodeState {
  born: boolean;
  bdSeq?: number;
  seq?: number;
  aliases: Map<number, string>;
  devices: Map<string, DeviceState>;
  rebirthAskedAt?: number;
}

/** Metrics that steer the session rather than report a measurement. */
function isControlMetric(name: string): boolean {
  return name === 'bdSeq' || name.startsWith('Node Control/') || name.startsWith('Device Control/');
}

export function parseSparkplugTopic(topic: unknown): SparkplugTopic {
  if (typeof topic !== 'string') return fail(CODES.badPayload, 'sparkplug needs msg.topic spBv1.0/<group>/<type>/<node>[/<device>]', 'topic');
  const levels = topic.split('/');
  if (levels[0] === 'spBv1.0' && levels[1] === 'STATE' && levels.length === 3) return { group: '', type: 'STATE', node: levels[2] };
  if (levels[0] === 'spBv1.0' && NOT_TELEMETRY.has(levels[2]) && (levels.length === 4 || levels.length === 5)) {
    return { group: levels[1], type: levels[2] as SparkplugMessageType, node: levels[3], device: levels[4] };
  }
  if (levels[0] !== 'spBv1.0' || levels.length < 4 || levels.length > 5 || levels.some((l) => l === '')) {
    fail(CODES.badPayload, `topic "${topic.slice(0, 100)}" is not spBv1.0/<group>/<type>/<node>[/<device>]`, 'topic');
  }
  const type = levels[2];
  if (!MESSAGE_TYPES.has(type)) fail(CODES.badPayload, `sparkplug message type "${type}" is not one of NBIRTH, DBIRTH, NDATA, DDATA, NDEATH, DDEATH`, 'topic');
  const isDevice = type[0] === 'D';
  if (isDevice !== (levels.length === 5)) fail(CODES.badPayload, `topic "${topic.slice(0, 100)}": ${type} ${isDevice ? 'needs' : 'must not have'} a device level`, 'topic');
  return { group: levels[1], type: type as SparkplugMessageType, node: levels[3], device: levels[4] };
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { toNumber?: unknown }).toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  return undefined;
}

function scalar(metric: UMetric): MetricValue | undefined {
  const value: unknown = metric.value;
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  const n = toNumber(value);
  if (n === undefined || !Number.isFinite(n)) return undefined; // DataSet, Template, Bytes: not a flat metric
  return metric.type === 'UInt32' && n < 0 ? n + 2 ** 32 : n; // sparkplug-payload reads UInt32 as signed
}

function unitOf(metric: UMetric): string | undefined {
  const unit = metric.properties?.engUnit?.value ?? metric.properties?.engUnits?.value;
  return typeof unit === 'string' && unit !== '' ? unit : undefined;
}

export class SparkplugSession {
  private readonly nodes = new Map<string, NodeState>();

  constructor(private readonly maxNodes = 10000, private readonly rebirthIntervalMs = 5000) {}

  get size(): number {
    return this.nodes.size;
  }

  decode(topicText: unknown, bytes: Uint8Array, now: number, limits: Limits): SparkplugResult {
    const topic = parseSparkplugTopic(topicText);
    if (topic.type === 'STATE' || NOT_TELEMETRY.has(topic.type)) return { records: [], topic };
    let payload: UPayload;
    try {
      payload = codec.decodePayload(bytes);
    } catch (err) {
      return fail(CODES.badPayload, `payload is not a Sparkplug B protobuf: ${(err as Error).message}`, 'payload');
    }
    const metrics = payload.metrics ?? [];
    if (metrics.length > limits.maxRecords) tooManyRecords(metrics.length, limits.maxRecords, 'metrics');
    const key = `${topic.group}/${topic.node}`;
    const seq = toNumber(payload.seq);
    const payloadTime = toNumber(payload.timestamp) ?? now;
    const result: SparkplugResult = { records: [], topic, seq };
    let reason: string | undefined;

    if (topic.type === 'NDEATH') {
      const state = this.nodes.get(key);
      const bdSeq = toNumber(metrics.find((m) => m.name === 'bdSeq')?.value);
      if (state?.bdSeq !== undefined && bdSeq !== undefined && bdSeq !== state.bdSeq) return result; // a stale will from an older session
      this.nodes.delete(key);
      result.records.push({ deviceId: topic.node, timestamp: payloadTime, payload: { online: false } });
      return result;
    }

    let state = this.touch(key);
    if (topic.type === 'NBIRTH') {
      state = { born: true, seq, bdSeq: toNumber(metrics.find((m) => m.name === 'bdSeq')?.value), aliases: new Map(), devices: new Map() };
      this.nodes.set(key, state);
    } else {
      if (!state.born) reason = `no NBIRTH seen from ${key}`;
      else if (seq !== undefined && state.seq !== undefined && seq !== (state.seq + 1) % 256) reason = `seq gap from ${key}: expected ${(state.seq + 1) % 256}, got ${seq}`;
      if (seq !== undefined) state.seq = seq;
    }

    let aliases = state.aliases;
    if (topic.device !== undefined) {
      let device = state.devices.get(topic.device);
      if (topic.type === 'DBIRTH') {
        device = { aliases: new Map() };
        state.devices.set(topic.device, device);
      } else if (!device) {
        reason ??= `no DBIRTH seen for ${key}/${topic.device}`;
      }
      if (topic.type === 'DDEATH') {
        state.devices.delete(topic.device);
        result.records.push({ deviceId: topic.device, timestamp: payloadTime, payload: { online: false } });
        return this.finish(result, state, topic, reason, now);
      }
      aliases = device?.aliases ?? new Map<number, string>();
    }

    const isBirth = topic.type === 'NBIRTH' || topic.type === 'DBIRTH';
    const groups = new Map<number, TelemetryRecord>();
    const deviceId = topic.device ?? topic.node;
    for (let i = 0; i < metrics.length; i++) {
      const metric = metrics[i];
      const alias = toNumber(metric.alias);
      let name = typeof metric.name === 'string' && metric.name !== '' ? metric.name : undefined;
      if (isBirth && name !== undefined && alias !== undefined) aliases.set(alias, name);
      if (name === undefined && alias !== undefined) name = aliases.get(alias);
      if (name === undefined) {
        (result.unknownAliases ??= []).push(alias ?? -1);
        reason ??= `unknown metric alias ${alias ?? '(none)'} from ${key}`;
        continue;
      }
      if (isControlMetric(name)) continue;
      const value = scalar(metric);
      if (value === undefined) continue;
      const timestamp = toNumber(metric.timestamp) ?? payloadTime;
      let group = groups.get(timestamp);
      if (!group) {
        group = { deviceId, timestamp, payload: {} };
        groups.set(timestamp, group);
      }
      setMetric(group.payload, name, value, `metrics[${i}].name`);
      const unit = unitOf(metric);
      if (unit) (group.units ??= {})[name] = unit;
    }
    result.records = [...groups.values()];
    return this.finish(result, state, topic, reason, now);
  }

  /** Gets or creates a node's state, keeping the most recently used nodes when the cap is reached. */
  private touch(key: string): NodeState {
    let state = this.nodes.get(key);
    if (state) {
      this.nodes.delete(key);
    } else {
      state = { born: false, aliases: new Map(), devices: new Map() };
      if (this.nodes.size >= this.maxNodes) this.nodes.delete(this.nodes.keys().next().value as string);
    }
    this.nodes.set(key, state);
    return state;
  }

  private finish(result: SparkplugResult, state: NodeState, topic: SparkplugTopic, reason: string | undefined, now: number): SparkplugResult {
    if (reason !== undefined && (state.rebirthAskedAt === undefined || now - state.rebirthAskedAt >= this.rebirthIntervalMs)) {
      state.rebirthAskedAt = now;
      result.rebirth = rebirthRequest(topic.group, topic.node, reason, now);
    }
    if (topic.type === 'NBIRTH') state.rebirthAskedAt = undefined;
    return result;
  }
}

/** The NCMD that asks an edge node to publish its births again. */
export function rebirthRequest(group: string, node: string, reason: string, now: number): RebirthRequest {
  const payload = codec.encodePayload({ timestamp: now, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] });
  return { topic: `spBv1.0/${group}/NCMD/${node}`, payload: Buffer.from(payload), reason };
}

export function encodeSparkplug(payload: UPayload): Buffer {
  return Buffer.from(codec.encodePayload(payload));
}

export function decodeSparkplugPayload(bytes: Uint8Array): UPayload {
  return codec.decodePayload(bytes);
}
