import { M2MError } from '../errors';
import { isHostileKey } from '../safe';
import { DATATYPES } from '../telemetry/sparkplug-codec';
import { parseSparkplugTopic, rebirthRequest, type SparkplugTopic } from '../telemetry/sparkplug';
import { datatypeName, readProperties, readValue, type PropertyMap, type SparkplugValue } from './values';
import { decodeFullPayload, type FullMetric, type FullPayload } from './wire';

// The host application's view of every edge node (Sparkplug 3.0, sections 7 and 8): sessions (bdSeq), message
// order (seq 0-255), the metric catalog each birth declares (names, aliases, datatypes, properties), deaths, and
// when to ask an edge node to rebirth. No MQTT here: handle() takes a topic and bytes and returns events.

export interface HostOptions {
  /** Edge nodes remembered; the least recently heard is forgotten first (and asked to rebirth if it speaks again). */
  maxEdgeNodes?: number;
  /** Devices one edge node may have born at once; a DBIRTH beyond it is refused and reported. */
  maxDevicesPerNode?: number;
  /** Metrics (and so aliases) one birth may declare; a larger birth is refused and reported. */
  maxMetrics?: number;
  /** The shortest time between two rebirth requests to one edge node. */
  rebirthIntervalMs?: number;
}

export interface MetricInfo {
  name: string;
  alias?: number;
  datatype?: number;
  properties?: PropertyMap;
  value?: SparkplugValue;
  timestamp?: number;
  transient?: boolean;
}

export interface Scope {
  group: string;
  node: string;
  device?: string;
  /** The registry id: `group:node` for an edge node, `group:node:device` for a device. */
  id: string;
}

export interface HistoricalValue {
  name: string;
  value: SparkplugValue;
  timestamp: number;
}

export type HostEvent =
  | (Scope & { kind: 'birth'; bdSeq?: number; seq?: number; timestamp: number; metrics: MetricInfo[] })
  | (Scope & {
      kind: 'data';
      seq?: number;
      timestamp: number;
      records: { timestamp: number; values: Record<string, SparkplugValue> }[];
      historical: HistoricalValue[];
      transient: string[];
    })
  | (Scope & { kind: 'death'; bdSeq?: number; timestamp: number; stale: string[]; reason?: string })
  | (Scope & { kind: 'ignored'; reason: string })
  | (Scope & { kind: 'rebirth'; topic: string; payload: Buffer; reason: string })
  | (Scope & { kind: 'problem'; code: string; reason: string });

interface Catalog {
  aliases: Map<number, string>;
  metrics: Map<string, MetricInfo>;
}
interface DeviceSession {
  born: boolean;
  catalog: Catalog;
}
interface EdgeNodeSession {
  group: string;
  node: string;
  born: boolean;
  bdSeq?: number;
  seq?: number;
  catalog: Catalog;
  devices: Map<string, DeviceSession>;
  rebirthAskedAt?: number;
}

const emptyCatalog = (): Catalog => ({ aliases: new Map(), metrics: new Map() });

/** Metrics that steer the session rather than report a measurement: kept in the catalog, not sent as telemetry. */
export function isControlMetric(name: string): boolean {
  return name === 'bdSeq' || name.startsWith('Node Control/') || name.startsWith('Device Control/');
}

export function registryId(group: string, node: string, device?: string): string {
  return device === undefined ? `${group}:${node}` : `${group}:${node}:${device}`;
}

const MAX_TEMPLATE_DEPTH = 8;

export class SparkplugHost {
  private readonly nodes = new Map<string, EdgeNodeSession>();
  private readonly maxEdgeNodes: number;
  private readonly maxDevicesPerNode: number;
  private readonly maxMetrics: number;
  private readonly rebirthIntervalMs: number;

  constructor(options: HostOptions = {}) {
    this.maxEdgeNodes = options.maxEdgeNodes ?? 10000;
    this.maxDevicesPerNode = options.maxDevicesPerNode ?? 1000;
    this.maxMetrics = options.maxMetrics ?? 10000;
    this.rebirthIntervalMs = options.rebirthIntervalMs ?? 5000;
  }

  /** What the host holds: edge nodes, devices and aliases in all (for the memory caps and the badge). */
  stats(): { edgeNodes: number; online: number; devices: number; aliases: number } {
    let devices = 0;
    let aliases = 0;
    let online = 0;
    for (const node of this.nodes.values()) {
      if (node.born) online++;
      devices += node.devices.size;
      aliases += node.catalog.aliases.size;
      for (const device of node.devices.values()) aliases += device.catalog.aliases.size;
    }
    return { edgeNodes: this.nodes.size, online, devices, aliases };
  }

  /** The catalog a birth declared for an edge node (device undefined) or a device, while it is online. */
  catalog(group: string, node: string, device?: string): ReadonlyMap<string, MetricInfo> | undefined {
    const session = this.nodes.get(`${group}/${node}`);
    if (!session?.born) return undefined;
    if (device === undefined) return session.catalog.metrics;
    const d = session.devices.get(device);
    return d?.born ? d.catalog.metrics : undefined;
  }

  /** Finds the edge node or device a registry id names, among those online. */
  findById(id: string): Scope | undefined {
    for (const session of this.nodes.values()) {
      if (!session.born) continue;
      const nodeId = registryId(session.group, session.node);
      if (id === nodeId) return { group: session.group, node: session.node, id };
      if (!id.startsWith(`${nodeId}:`)) continue;
      const device = id.slice(nodeId.length + 1);
      if (session.devices.get(device)?.born) return { group: session.group, node: session.node, device, id };
    }
    return undefined;
  }

  /** One MQTT message on spBv1.0/#: the events it causes. Throws M2MError for a topic or payload that is not Sparkplug B. */
  handle(topicText: string, bytes: Uint8Array, now: number): HostEvent[] {
    const topic = parseSparkplugTopic(topicText);
    if (topic.type === 'STATE' || topic.type === 'NCMD' || topic.type === 'DCMD') return [];
    let payload: FullPayload;
    try {
      payload = decodeFullPayload(bytes);
    } catch (err) {
      throw new M2MError('INVALID_PAYLOAD', `${topic.type} from ${topic.group}/${topic.node} is not a Sparkplug B protobuf: ${(err as Error).message}`, {
        field: 'payload',
      });
    }
    const events: HostEvent[] = [];
    const key = `${topic.group}/${topic.node}`;
    const scope = scopeOf(topic);
    const seq = toNumber(payload.seq);
    const timestamp = toNumber(payload.timestamp) ?? now;

    if (topic.type === 'NDEATH') return this.nodeDeath(key, scope, payload, timestamp);

    const session = this.touch(key, topic);
    const reasons: string[] = [];
    if (topic.type === 'NBIRTH') {
      const metrics = payload.metrics ?? [];
      if (metrics.length > this.maxMetrics) {
        events.push(problem(scope, 'TOO_MANY_RECORDS', `NBIRTH from ${key} declares ${metrics.length} metrics, more than the cap of ${this.maxMetrics}`));
        return events;
      }
      // a new session: every device must be born again, and the catalog is the birth's alone
      events.push(...previousSessionDeaths(session, scope, timestamp));
      session.born = true;
      session.seq = seq;
      session.bdSeq = bdSeqOf(payload);
      session.catalog = emptyCatalog();
      session.devices = new Map();
      session.rebirthAskedAt = undefined;
      events.push(this.birth(scope, session.catalog, metrics, timestamp, events, { bdSeq: session.bdSeq, seq }));
      return events;
    }

    if (!session.born) reasons.push(`no NBIRTH seen from ${key}`);
    else if (seq !== undefined && session.seq !== undefined && seq !== (session.seq + 1) % 256) {
      reasons.push(`seq gap from ${key}: expected ${(session.seq + 1) % 256}, got ${seq}`);
    }
    if (seq !== undefined) session.seq = seq;

    if (topic.device === undefined) {
      this.data(scope, session.born ? session.catalog : emptyCatalog(), payload, timestamp, seq, events, reasons);
    } else if (topic.type === 'DBIRTH') {
      this.deviceBirth(session, topic.device, scope, payload, timestamp, seq, events);
    } else if (topic.type === 'DDEATH') {
      const device = session.devices.get(topic.device);
      session.devices.delete(topic.device); // released: the registry keeps the catalog, the host only the live session
      events.push({ ...scope, kind: 'death', timestamp, stale: device ? staleNames(device.catalog) : [] });
    } else {
      const device = session.devices.get(topic.device);
      if (!device?.born) reasons.push(`no DBIRTH seen for ${key}/${topic.device}`);
      this.data(scope, device?.born ? device.catalog : emptyCatalog(), payload, timestamp, seq, events, reasons);
    }
    if (reasons.length > 0) this.askRebirth(session, scope, reasons.join('; '), now, events);
    return events;
  }

  private nodeDeath(key: string, scope: Scope, payload: FullPayload, timestamp: number): HostEvent[] {
    const session = this.nodes.get(key);
    const bdSeq = bdSeqOf(payload);
    if (!session?.born) return [{ ...scope, kind: 'ignored', reason: `NDEATH from ${key}, which is not online` }];
    if (session.bdSeq !== undefined && bdSeq !== undefined && bdSeq !== session.bdSeq) {
      return [{ ...scope, kind: 'ignored', reason: `NDEATH from ${key} with bdSeq ${bdSeq} belongs to an older session (current bdSeq ${session.bdSeq})` }];
    }
    const events: HostEvent[] = [];
    for (const [name, device] of session.devices) {
      if (device.born)
        events.push({
          ...scope,
          device: name,
          id: registryId(scope.group, scope.node, name),
          kind: 'death',
          bdSeq,
          timestamp,
          stale: staleNames(device.catalog),
        });
    }
    events.push({ ...scope, kind: 'death', bdSeq, timestamp, stale: staleNames(session.catalog) });
    // released: an offline edge node keeps only its bdSeq, so a late will of the same session is still recognised
    session.born = false;
    session.catalog = emptyCatalog();
    session.devices = new Map();
    session.seq = undefined;
    return events;
  }

  private deviceBirth(
    session: EdgeNodeSession,
    name: string,
    scope: Scope,
    payload: FullPayload,
    timestamp: number,
    seq: number | undefined,
    events: HostEvent[],
  ): void {
    const metrics = payload.metrics ?? [];
    let device = session.devices.get(name);
    if (!device && session.devices.size >= this.maxDevicesPerNode) {
      events.push(
        problem(
          scope,
          'TOO_MANY_DEVICES',
          `edge node ${scope.group}/${scope.node} already has ${session.devices.size} devices online, the cap; DBIRTH of ${name} refused`,
        ),
      );
      return;
    }
    if (metrics.length > this.maxMetrics) {
      events.push(problem(scope, 'TOO_MANY_RECORDS', `DBIRTH of ${name} declares ${metrics.length} metrics, more than the cap of ${this.maxMetrics}`));
      return;
    }
    device = { born: true, catalog: emptyCatalog() };
    session.devices.set(name, device);
    events.push(this.birth(scope, device.catalog, metrics, timestamp, events, { seq }));
  }

  private birth(
    scope: Scope,
    catalog: Catalog,
    metrics: FullMetric[],
    timestamp: number,
    events: HostEvent[],
    extra: { bdSeq?: number; seq?: number },
  ): HostEvent {
    const declared: MetricInfo[] = [];
    for (let i = 0; i < metrics.length; i++) {
      const metric = metrics[i];
      if (typeof metric.name !== 'string' || metric.name === '') {
        events.push(problem(scope, 'INVALID_PAYLOAD', `birth metric ${i} has no name, so nothing can refer to it`));
        continue;
      }
      const alias = toNumber(metric.alias);
      if (alias !== undefined) catalog.aliases.set(alias, metric.name);
      if (metric.datatype === DATATYPES.Template) {
        // the instance itself, so data naming it by alias alone finds its datatype; its members follow flattened
        const info: MetricInfo = { name: metric.name, datatype: metric.datatype, timestamp };
        if (alias !== undefined) info.alias = alias;
        catalog.metrics.set(metric.name, info);
        declared.push(info);
      }
      for (const entry of this.flatten(metric.name, metric, metric.datatype, timestamp, scope, events, 0)) {
        if (entry.historical || entry.datatype === DATATYPES.Template) continue;
        const info: MetricInfo = { name: entry.name, datatype: entry.datatype, timestamp: entry.timestamp };
        if (entry.name === metric.name) {
          if (alias !== undefined) info.alias = alias;
          const properties = readProperties(metric.properties);
          if (properties) info.properties = properties;
        }
        if (entry.value !== undefined) info.value = entry.value;
        if (metric.isTransient) info.transient = true;
        catalog.metrics.set(entry.name, info);
        declared.push(info);
      }
    }
    return { ...scope, kind: 'birth', ...extra, timestamp, metrics: declared };
  }

  private data(scope: Scope, catalog: Catalog, payload: FullPayload, timestamp: number, seq: number | undefined, events: HostEvent[], reasons: string[]): void {
    const groups = new Map<number, Record<string, SparkplugValue>>();
    const historical: HistoricalValue[] = [];
    const transient: string[] = [];
    const unknown: string[] = [];
    for (const metric of payload.metrics ?? []) {
      const alias = toNumber(metric.alias);
      const name = typeof metric.name === 'string' && metric.name !== '' ? metric.name : alias === undefined ? undefined : catalog.aliases.get(alias);
      if (name === undefined) {
        unknown.push(alias === undefined ? '(no name or alias)' : `alias ${alias}`);
        continue;
      }
      const datatype = metric.datatype ?? catalog.metrics.get(name)?.datatype;
      for (const entry of this.flatten(name, metric, datatype, timestamp, scope, events, 0)) {
        if (entry.value === undefined || isControlMetric(entry.name)) continue;
        if (isHostileKey(entry.name)) {
          events.push(problem(scope, 'HOSTILE_KEY', `metric name "${entry.name}" of ${scope.id} is not allowed`));
          continue;
        }
        if (entry.historical) {
          historical.push({ name: entry.name, value: entry.value, timestamp: entry.timestamp });
          continue;
        }
        let values = groups.get(entry.timestamp);
        if (!values) groups.set(entry.timestamp, (values = {}));
        values[entry.name] = entry.value;
        const known = catalog.metrics.get(entry.name);
        if (metric.isTransient) transient.push(entry.name);
        else if (known) {
          known.value = entry.value;
          known.timestamp = entry.timestamp;
        }
      }
    }
    if (unknown.length > 0) {
      const reason = `unknown metric ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''} from ${scope.id}`;
      events.push(problem(scope, 'UNKNOWN_ALIAS', reason));
      reasons.push(reason);
    }
    const records = [...groups].map(([t, values]) => ({ timestamp: t, values }));
    // fields written out: an object spread of the scope here cost V8 ~60 µs a message (a slow path), three times the decode
    if (records.length > 0 || historical.length > 0) {
      events.push({ group: scope.group, node: scope.node, device: scope.device, id: scope.id, kind: 'data', seq, timestamp, records, historical, transient });
    }
  }

  /** A metric as one or more named values: a Template instance becomes `Template/member`, recursively. */
  private flatten(
    name: string,
    metric: FullMetric,
    datatype: number | undefined,
    payloadTime: number,
    scope: Scope,
    events: HostEvent[],
    depth: number,
  ): { name: string; datatype?: number; value?: SparkplugValue; timestamp: number; historical: boolean }[] {
    const timestamp = toNumber(metric.timestamp) ?? payloadTime;
    const historical = metric.isHistorical === true;
    if (datatype === DATATYPES.Template && !metric.isNull) {
      const template = metric.templateValue;
      if (!template || template.isDefinition || depth >= MAX_TEMPLATE_DEPTH) return [{ name, datatype, timestamp, historical }];
      const out: ReturnType<SparkplugHost['flatten']> = [];
      for (const member of template.metrics ?? []) {
        if (typeof member.name !== 'string' || member.name === '') continue;
        for (const entry of this.flatten(`${name}/${member.name}`, member, member.datatype, timestamp, scope, events, depth + 1)) {
          out.push({ ...entry, historical: entry.historical || historical });
        }
      }
      return out;
    }
    const value = readValue(metric, datatype);
    if (value === undefined && datatype !== undefined && !isControlMetric(name)) {
      events.push(
        problem(scope, 'INVALID_PAYLOAD', `metric ${name} of ${scope.id} (${datatypeName(datatype)}) carries no value its datatype can be read from`),
      );
    }
    return [{ name, datatype: datatype ?? inferredType(value), value, timestamp, historical }];
  }

  private askRebirth(session: EdgeNodeSession, scope: Scope, reason: string, now: number, events: HostEvent[]): void {
    if (session.rebirthAskedAt !== undefined && now - session.rebirthAskedAt < this.rebirthIntervalMs) return;
    session.rebirthAskedAt = now;
    const request = rebirthRequest(session.group, session.node, reason, now);
    events.push({
      group: scope.group,
      node: scope.node,
      id: registryId(scope.group, scope.node),
      kind: 'rebirth',
      topic: request.topic,
      payload: request.payload,
      reason,
    });
  }

  /** Gets or creates an edge node's session, forgetting the least recently heard one at the cap. */
  private touch(key: string, topic: SparkplugTopic): EdgeNodeSession {
    let session = this.nodes.get(key);
    if (session) this.nodes.delete(key);
    else {
      session = { group: topic.group, node: topic.node, born: false, catalog: emptyCatalog(), devices: new Map() };
      if (this.nodes.size >= this.maxEdgeNodes) this.nodes.delete(this.nodes.keys().next().value as string);
    }
    this.nodes.set(key, session);
    return session;
  }
}

function scopeOf(topic: SparkplugTopic): Scope {
  return { group: topic.group, node: topic.node, device: topic.device, id: registryId(topic.group, topic.node, topic.device) };
}

/**
 * A new NBIRTH ends the edge node's previous session (Sparkplug 3.0, host rules): the devices born in it are
 * offline, their metrics stale, until each sends its DBIRTH in the new session. Those without one stay offline.
 */
function previousSessionDeaths(session: EdgeNodeSession, scope: Scope, timestamp: number): HostEvent[] {
  const events: HostEvent[] = [];
  for (const [name, device] of session.devices) {
    if (!device.born) continue;
    const reason = `a new NBIRTH of ${scope.group}/${scope.node} ended the session ${name} was born in`;
    events.push({
      group: scope.group,
      node: scope.node,
      device: name,
      id: registryId(scope.group, scope.node, name),
      kind: 'death',
      timestamp,
      stale: staleNames(device.catalog),
      reason,
    });
  }
  return events;
}

function problem(scope: Scope, code: string, reason: string): HostEvent {
  return { ...scope, kind: 'problem', code, reason };
}

function staleNames(catalog: Catalog): string[] {
  return [...catalog.metrics.keys()].filter((name) => !isControlMetric(name));
}

function toNumber(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

function inferredType(value: SparkplugValue | undefined): number | undefined {
  if (typeof value === 'boolean') return DATATYPES.Boolean;
  if (typeof value === 'string') return DATATYPES.String;
  if (typeof value === 'number') return DATATYPES.Double;
  return undefined;
}

function bdSeqOf(payload: FullPayload): number | undefined {
  const metric = payload.metrics?.find((m) => m.name === 'bdSeq');
  const value = metric ? readValue(metric, metric.datatype ?? DATATYPES.UInt64) : undefined;
  return typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : undefined;
}
