import { CODES, fail, setMetric, tooManyRecords } from './fail';
import { decodeWirePayload, encodeSparkplugPayload, metricUnit, metricValue, wireNumber, type WirePayload } from './sparkplug-codec';
import type { Limits, TelemetryRecord } from './types';

// Sparkplug B: NBIRTH/DBIRTH/NDATA/DDATA/NDEATH/DDEATH on spBv1.0/<group>/<type>/<node>[/<device>].
// Births teach metric aliases and datatypes; data may then carry aliases only, and no datatype (the
// specification asks edge nodes to leave it out of NDATA/DDATA). A seq gap, data before a birth or an
// unknown alias means this node has lost state, so the session asks the edge node to rebirth (an NCMD).

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
  /** Metrics with no flat value for the telemetry contract, each with why. */
  skipped?: { name: string; datatype?: number; reason: string }[];
}

/** What the births taught about one edge node's or device's metrics. */
interface MetricCatalog {
  aliases: Map<number, string>;
  datatypes: Map<string, number>;
}
type DeviceState = MetricCatalog;

function emptyCatalog(): MetricCatalog {
  return { aliases: new Map(), datatypes: new Map() };
}

interface NodeState {
  born: boolean;
  bdSeq?: number;
  seq?: number;
  catalog: MetricCatalog;
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
  if (isDevice !== (levels.length === 5))
    fail(CODES.badPayload, `topic "${topic.slice(0, 100)}": ${type} ${isDevice ? 'needs' : 'must not have'} a device level`, 'topic');
  return { group: levels[1], type: type as SparkplugMessageType, node: levels[3], device: levels[4] };
}

export class SparkplugSession {
  private readonly nodes = new Map<string, NodeState>();

  /**
   * @param maxNodes edge nodes remembered; the least recently heard is forgotten first (it is asked to rebirth if it speaks again)
   * @param maxDevicesPerNode devices one edge node may announce; a DBIRTH beyond it is refused, so one node cannot grow the session without bound
   */
  constructor(
    private readonly maxNodes = 10000,
    private readonly rebirthIntervalMs = 5000,
    private readonly maxDevicesPerNode = 1000,
  ) {}

  get size(): number {
    return this.nodes.size;
  }

  decode(topicText: unknown, bytes: Uint8Array, now: number, limits: Limits): SparkplugResult {
    const topic = parseSparkplugTopic(topicText);
    if (topic.type === 'STATE' || NOT_TELEMETRY.has(topic.type)) return { records: [], topic };
    let payload: WirePayload;
    try {
      payload = decodeWirePayload(bytes);
    } catch (err) {
      return fail(CODES.badPayload, `payload is not a Sparkplug B protobuf: ${(err as Error).message}`, 'payload');
    }
    const metrics = payload.metrics ?? [];
    if (metrics.length > limits.maxRecords) tooManyRecords(metrics.length, limits.maxRecords, 'metrics');
    const key = `${topic.group}/${topic.node}`;
    const seq = wireNumber(payload.seq);
    const payloadTime = wireNumber(payload.timestamp) ?? now;
    const result: SparkplugResult = { records: [], topic, seq };
    let reason: string | undefined;

    if (topic.type === 'NDEATH') {
      const state = this.nodes.get(key);
      const bdSeq = bdSeqOf(payload);
      if (state?.bdSeq !== undefined && bdSeq !== undefined && bdSeq !== state.bdSeq) return result; // a stale will from an older session
      this.nodes.delete(key);
      result.records.push({ deviceId: topic.node, timestamp: payloadTime, payload: { online: false } });
      return result;
    }

    let state = this.touch(key);
    if (topic.type === 'NBIRTH') {
      state = { born: true, seq, bdSeq: bdSeqOf(payload), catalog: emptyCatalog(), devices: new Map() };
      this.nodes.set(key, state);
    } else {
      if (!state.born) reason = `no NBIRTH seen from ${key}`;
      else if (seq !== undefined && state.seq !== undefined && seq !== (state.seq + 1) % 256)
        reason = `seq gap from ${key}: expected ${(state.seq + 1) % 256}, got ${seq}`;
      if (seq !== undefined) state.seq = seq;
    }

    let catalog = state.catalog;
    if (topic.device !== undefined) {
      let device = state.devices.get(topic.device);
      if (topic.type === 'DBIRTH') {
        if (!device && state.devices.size >= this.maxDevicesPerNode) {
          fail(CODES.tooManyDevices, `edge node ${key} already has ${state.devices.size} devices, the most one node may announce`, 'topic', {
            max: this.maxDevicesPerNode,
          });
        }
        device = emptyCatalog();
        state.devices.set(topic.device, device);
      } else if (!device) {
        reason ??= `no DBIRTH seen for ${key}/${topic.device}`;
      }
      if (topic.type === 'DDEATH') {
        state.devices.delete(topic.device);
        result.records.push({ deviceId: topic.device, timestamp: payloadTime, payload: { online: false } });
        return this.finish(result, state, topic, reason, now);
      }
      catalog = device ?? emptyCatalog();
    }

    const isBirth = topic.type === 'NBIRTH' || topic.type === 'DBIRTH';
    const groups = new Map<number, TelemetryRecord>();
    const deviceId = topic.device ?? topic.node;
    for (let i = 0; i < metrics.length; i++) {
      const metric = metrics[i];
      const alias = wireNumber(metric.alias);
      let name = typeof metric.name === 'string' && metric.name !== '' ? metric.name : undefined;
      if (isBirth && name !== undefined) learn(catalog, name, alias, metric.datatype);
      if (name === undefined && alias !== undefined) name = catalog.aliases.get(alias);
      if (name === undefined) {
        (result.unknownAliases ??= []).push(alias ?? -1);
        reason ??= `unknown metric alias ${alias ?? '(none)'} from ${key}`;
        continue;
      }
      if (isControlMetric(name)) continue;
      const datatype = metric.datatype ?? catalog.datatypes.get(name);
      const value = metricValue(metric, datatype);
      if (value === undefined) {
        // not one number, string or boolean (null, DataSet, Template, Bytes, File, or no value for its datatype): said, not dropped quietly
        (result.skipped ??= []).push({
          name,
          datatype,
          reason: metric.isNull ? 'null' : 'not a flat value (the m2m-sparkplug-host node reads every datatype)',
        });
        continue;
      }
      const timestamp = wireNumber(metric.timestamp) ?? payloadTime;
      let group = groups.get(timestamp);
      if (!group) {
        group = { deviceId, timestamp, payload: {} };
        groups.set(timestamp, group);
      }
      setMetric(group.payload, name, value, `metrics[${i}].name`);
      const unit = metricUnit(metric);
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
      state = { born: false, catalog: emptyCatalog(), devices: new Map() };
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
  const payload = encodeSparkplugPayload({ timestamp: now, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] });
  return { topic: `spBv1.0/${group}/NCMD/${node}`, payload, reason };
}

function learn(catalog: MetricCatalog, name: string, alias: number | undefined, datatype: number | undefined): void {
  if (alias !== undefined) catalog.aliases.set(alias, name);
  if (datatype !== undefined) catalog.datatypes.set(name, datatype);
}

/** The session number an edge node announces in its NBIRTH and its NDEATH will. */
function bdSeqOf(payload: WirePayload): number | undefined {
  const metric = payload.metrics?.find((m) => m.name === 'bdSeq');
  const value = metric ? metricValue(metric) : undefined;
  return value === undefined ? undefined : Number(value);
}

export { encodeSparkplugPayload as encodeSparkplug };
