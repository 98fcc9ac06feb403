import { M2MError, errorMessage } from '../../lib/errors';
import type { StatusEvent } from '../../lib/command/types';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { HostConnection, SparkplugCommands, SparkplugHost, checkHostId, isControlMetric, type HostEvent } from '../../lib/sparkplug';
import { RegistrySync, type TypeMapping } from '../../lib/sparkplug/registry-sync';
import { announceHostEvents, type SparkplugTransport } from '../../lib/sparkplug/transport';
import { onInput, rejectAllInput } from '../shared/adapter';
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/node-red';
import { optionalRegistry } from '../shared/registry-lookup';
import { ThrottledStatus } from '../shared/throttled-status';
import { SPARKPLUG_HOST_CONFIG, type SparkplugHostConfig } from './config';

// A Sparkplug B host application on its own MQTT session (its STATE will cannot ride on Node-RED's mqtt-broker
// node). Output 1: telemetry per the pack's contract, from births and data. Output 2: events (birth, death,
// rebirth asked, ignored, problem) and the status of writes sent from the input. m2m-command with the Sparkplug
// transport writes through the same session (this node's `sparkplug`).

interface HostCredentials {
  user?: string;
  password?: string;
}

const DEFAULT_WRITE_TIMEOUT_MS = 10_000;

function typeMapping(def: SparkplugHostConfig): TypeMapping {
  let types: unknown;
  try {
    types = JSON.parse(def.types || '{}');
  } catch {
    throw new M2MError('INVALID_CONFIG', 'types must be JSON: { "group/node": "type", "group": "type", "*": "type" }', { field: 'types' });
  }
  if (types === null || typeof types !== 'object' || Array.isArray(types) || Object.values(types).some((v) => typeof v !== 'string')) {
    throw new M2MError('INVALID_CONFIG', 'types must map "group/node", "group" or "*" to a device type name', { field: 'types' });
  }
  return { types: types as Record<string, string>, typePerGroup: def.typePerGroup };
}

function telemetry(event: HostEvent): NodeMessage[] {
  const sparkplug = { group: event.group, node: event.node, device: event.device };
  if (event.kind === 'birth') {
    const payload: Record<string, unknown> = {};
    for (const m of event.metrics) if (m.value !== undefined && !isControlMetric(m.name)) payload[m.name] = m.value;
    return Object.keys(payload).length === 0
      ? []
      : [{ topic: event.id, deviceId: event.id, timestamp: event.timestamp, payload, sparkplug: { ...sparkplug, birth: true } }];
  }
  if (event.kind !== 'data') return [];
  const out: NodeMessage[] = event.records.map((r) => ({
    topic: event.id,
    deviceId: event.id,
    timestamp: r.timestamp,
    payload: r.values,
    sparkplug: { ...sparkplug, seq: event.seq, transient: event.transient },
  }));
  if (event.historical.length > 0) {
    out.push({
      topic: event.id,
      deviceId: event.id,
      timestamp: event.timestamp,
      payload: {},
      historical: event.historical,
      sparkplug: { ...sparkplug, historical: true },
    });
  }
  return out;
}

function eventMessage(event: HostEvent): NodeMessage | undefined {
  const base = { event: event.kind, deviceId: event.id, group: event.group, node: event.node, device: event.device };
  switch (event.kind) {
    case 'birth':
      return {
        topic: `sparkplug/birth/${event.id}`,
        deviceId: event.id,
        payload: {
          ...base,
          online: true,
          bdSeq: event.bdSeq,
          metrics: event.metrics.map((m) => ({ name: m.name, alias: m.alias, datatype: m.datatype, properties: m.properties })),
        },
      };
    case 'death':
      return {
        topic: `sparkplug/death/${event.id}`,
        deviceId: event.id,
        payload: { ...base, online: false, bdSeq: event.bdSeq, stale: event.stale, ...(event.reason === undefined ? {} : { reason: event.reason }) },
      };
    case 'rebirth':
      return { topic: `sparkplug/rebirth/${event.id}`, deviceId: event.id, payload: { ...base, reason: event.reason, requestTopic: event.topic } };
    case 'ignored':
      return { topic: `sparkplug/ignored/${event.id}`, deviceId: event.id, payload: { ...base, reason: event.reason } };
    case 'problem':
      return { topic: `sparkplug/problem/${event.id}`, deviceId: event.id, payload: { ...base, code: event.code, reason: event.reason } };
    default:
      return undefined;
  }
}

export = function (RED: NodeAPI): void {
  RED.nodes.registerType(
    'm2m-sparkplug-host',
    function (this: Node<HostCredentials>, config: NodeDef) {
      RED.nodes.createNode(this, config);
      const node = this as Node<HostCredentials> & { sparkplug?: SparkplugTransport };
      let def: SparkplugHostConfig;
      let mapping: TypeMapping;
      let registry: DeviceRegistryApi | undefined;
      try {
        def = SPARKPLUG_HOST_CONFIG.read(config);
        checkHostId(def.hostId);
        mapping = typeMapping(def);
        registry = optionalRegistry(RED, def.registry);
      } catch (err) {
        rejectAllInput(node as Node, err);
        return;
      }

      const host = new SparkplugHost({ maxDevicesPerNode: def.maxDevicesPerNode, maxMetrics: def.maxMetrics, rebirthIntervalMs: def.rebirthInterval * 1000 });
      let link = 'connecting';
      const status = new ThrottledStatus(node as Node, () => {
        const s = host.stats();
        return {
          fill: link === 'online' ? 'green' : link === 'connecting' ? 'yellow' : 'red',
          shape: link === 'online' ? 'dot' : 'ring',
          text: `${link} · ${s.online} edge nodes · ${s.devices} devices`,
        };
      });
      const sync = registry && new RegistrySync(registry, mapping, (id, message) => node.warn(`registry: ${id}: ${message}`));
      const listeners = new Map<string, (event: StatusEvent) => void>();
      let connection: HostConnection | undefined;
      const commands = new SparkplugCommands({
        host,
        publish: (topic, payload) => {
          if (!connection?.connected) throw new M2MError('BROKER_UNAVAILABLE', 'the Sparkplug host is not connected to its broker', { field: 'broker' });
          connection.publishCommand(topic, payload);
        },
        onStatus: (event) => {
          const listener = listeners.get(event.id);
          if (event.status !== 'sent') listeners.delete(event.id);
          listener?.(event);
        },
      });
      node.sparkplug = {
        write: (request, onStatus) => {
          listeners.set(request.id, onStatus);
          try {
            onStatus(commands.write(request));
          } catch (err) {
            listeners.delete(request.id);
            throw err;
          }
        },
        send: (request) => commands.publishWrite(request),
        check: (request) => {
          commands.encode(request, Date.now());
        },
      };

      const receive = (topic: string, payload: Buffer): void => {
        let events: HostEvent[];
        try {
          events = host.handle(topic, payload, Date.now());
        } catch (err) {
          node.error(err instanceof Error ? err : new Error(errorMessage(err)), { topic, payload });
          return;
        }
        if (events.length === 0) return;
        for (const event of events) {
          if (event.kind === 'rebirth' && connection?.connected) connection.publishCommand(event.topic, event.payload);
        }
        sync?.apply(events);
        commands.observe(events);
        announceHostEvents(node.id, events);
        const out1: NodeMessage[] = [];
        const out2: NodeMessage[] = [];
        for (const event of events) {
          out1.push(...telemetry(event));
          const message = eventMessage(event);
          if (message) out2.push(message);
        }
        node.send([out1.length > 0 ? out1 : null, out2.length > 0 ? out2 : null]);
        status.schedule();
      };

      const start = async (): Promise<void> => {
        if (registry) await registry.whenLoaded();
        if (closed) return;
        connection = new HostConnection({
          url: def.broker,
          hostId: def.hostId,
          clientId: def.clientId,
          username: node.credentials?.user,
          password: node.credentials?.password,
          groups: def.groups
            .split(',')
            .map((g) => g.trim())
            .filter((g) => g !== ''),
          onMessage: receive,
          onStatus: (state, detail) => {
            link = state === 'error' ? `error: ${detail ?? ''}`.slice(0, 40) : state;
            status.show();
          },
        });
      };
      let closed = false;
      status.show();
      start().catch((err: unknown) => {
        node.error(`m2m-sparkplug-host could not start: ${errorMessage(err)}`);
        node.status({ fill: 'red', shape: 'ring', text: 'not started' });
      });

      // Input: a write { deviceId: "group:node[:device]", payload: { metric: value } } (or command + a single value).
      onInput(node as Node, (msg, send) => {
        const id =
          typeof msg.commandId === 'string' && msg.commandId !== ''
            ? msg.commandId
            : `sp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
        const timeoutMs = typeof msg.timeout === 'number' && msg.timeout > 0 ? msg.timeout : DEFAULT_WRITE_TIMEOUT_MS;
        node.sparkplug?.write(
          { id, deviceId: String(msg.deviceId ?? ''), command: typeof msg.command === 'string' ? msg.command : 'write', params: msg.payload, timeoutMs },
          (event) => send([null, { ...msg, topic: `${event.deviceId}/${event.command}`, commandId: event.id, status: event.status, payload: event }]),
        );
      });

      node.on('close', (_removed, done) => {
        closed = true;
        node.sparkplug = undefined;
        commands.close();
        status.stop();
        const stopping = connection?.stop() ?? Promise.resolve();
        stopping.catch((err: unknown) => node.warn(`stopping: ${errorMessage(err)}`)).finally(() => done());
      });
    },
    { credentials: { user: { type: 'text' }, password: { type: 'password' } } },
  );
};
