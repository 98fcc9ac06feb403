// Reads "is this device connected?" out of the messages brokers and devices send about it, for the
// m2m-device `presence` operation. Each source maps to { deviceId?, state, at? }; nothing here touches the registry.
import { M2MError, describeValue } from '../errors';
import { isPlainObject } from '../safe';

export type PresenceState = 'online' | 'offline';

export interface PresenceMark {
  state: PresenceState;
  /** The device the message names (client id, topic level); msg.deviceId wins over it. */
  deviceId?: string;
  /** When the broker says it happened (ms since 1970); otherwise the mark is made now. */
  at?: number;
  /** Which source the message was read as, for msg.presenceSource. */
  source: PresenceSource;
}

export type PresenceSource = 'payload' | 'emqx' | 'mosquitto-log' | 'sparkplug';

export interface PresenceInput {
  topic?: unknown;
  payload: unknown;
}

const WORDS: Record<string, PresenceState> = {
  online: 'online',
  offline: 'offline',
  connected: 'online',
  disconnected: 'offline',
  up: 'online',
  down: 'offline',
  true: 'online',
  false: 'offline',
  '1': 'online',
  '0': 'offline',
  alive: 'online',
  dead: 'offline',
};

// Mosquitto (log_dest topic, $SYS/broker/log/N): "New client connected from 10.0.0.5:50612 as th-7 (p2, c1, k60)."
// and "Client th-7 disconnected." / "Client th-7 closed its connection." / "Client th-7 has exceeded timeout, disconnecting."
const MOSQUITTO_CONNECTED = /New client connected from \S+ as (\S+) \(/;
const MOSQUITTO_GONE = /Client (\S+) (?:disconnected|closed its connection|has exceeded timeout)/;
// EMQX rule-engine event topics ($events/client_connected, $events/client/connected) and system topics
// ($SYS/brokers/<node>/clients/<clientid>/connected).
const EMQX_EVENT_TOPIC = /^\$events\/client[_/](connected|disconnected)$/;
const EMQX_SYS_TOPIC = /^\$SYS\/brokers\/[^/]+\/clients\/([^/]+)\/(connected|disconnected)$/;
// Sparkplug B: spBv1.0/<group>/<NBIRTH|NDEATH>/<node> and .../<DBIRTH|DDEATH>/<node>/<device>.
const SPARKPLUG_TOPIC = /^spBv1\.0\/[^/]+\/(NBIRTH|NDEATH|DBIRTH|DDEATH)\/([^/]+)(?:\/([^/]+))?$/;

/**
 * Reads a presence change from a message. Sources, first match wins:
 * - EMQX events: topic `$events/client_connected|client_disconnected` (or `$SYS/brokers/…/clients/<id>/…`), or a
 *   JSON payload with `event: "client.connected" | "client.disconnected"`; device = `clientid`, time =
 *   `connected_at`/`disconnected_at`.
 * - Mosquitto log lines (`$SYS/broker/log/…`): "New client connected … as <id> (…" and "Client <id> disconnected.".
 * - Sparkplug topics: NBIRTH/DBIRTH online, NDEATH/DDEATH offline; device = the device level, else the edge node.
 * - A last will or status payload: `offline`/`online` (also `connected`/`disconnected`, `true`/`false`, `1`/`0`),
 *   or an object with `online: boolean`, or `status`/`state` holding one of those words (m2m-telemetry's
 *   Sparkplug death records, `{ "online": false }`, read this way).
 */
export function readPresence(input: PresenceInput): PresenceMark {
  const topic = typeof input.topic === 'string' ? input.topic : '';
  const payload = parseJson(input.payload);
  return fromEmqx(topic, payload) ?? fromMosquittoLog(payload) ?? fromSparkplug(topic) ?? fromStatusPayload(payload) ?? unreadable(input.payload);
}

function fromEmqx(topic: string, payload: unknown): PresenceMark | undefined {
  const sys = EMQX_SYS_TOPIC.exec(topic);
  const event = EMQX_EVENT_TOPIC.exec(topic)?.[1] ?? sys?.[2] ?? emqxEventName(payload);
  if (event === undefined) return undefined;
  const body = isPlainObject(payload) ? payload : {};
  const state: PresenceState = event === 'connected' ? 'online' : 'offline';
  const clientId = typeof body.clientid === 'string' ? body.clientid : sys?.[1];
  const at = state === 'online' ? body.connected_at : body.disconnected_at;
  return { state, deviceId: clientId, at: typeof at === 'number' && Number.isFinite(at) && at > 0 ? at : undefined, source: 'emqx' };
}

function emqxEventName(payload: unknown): string | undefined {
  if (!isPlainObject(payload)) return undefined;
  if (payload.event === 'client.connected') return 'connected';
  if (payload.event === 'client.disconnected') return 'disconnected';
  return undefined;
}

function fromMosquittoLog(payload: unknown): PresenceMark | undefined {
  if (typeof payload !== 'string') return undefined;
  const connected = MOSQUITTO_CONNECTED.exec(payload);
  if (connected) return { state: 'online', deviceId: connected[1], source: 'mosquitto-log' };
  const gone = MOSQUITTO_GONE.exec(payload);
  if (gone) return { state: 'offline', deviceId: gone[1], source: 'mosquitto-log' };
  return undefined;
}

function fromSparkplug(topic: string): PresenceMark | undefined {
  const match = SPARKPLUG_TOPIC.exec(topic);
  if (!match) return undefined;
  const [, kind, node, device] = match;
  if ((kind[0] === 'D') !== (device !== undefined)) return undefined;
  return { state: kind.endsWith('BIRTH') ? 'online' : 'offline', deviceId: device ?? node, source: 'sparkplug' };
}

function fromStatusPayload(payload: unknown): PresenceMark | undefined {
  if (typeof payload === 'boolean') return { state: payload ? 'online' : 'offline', source: 'payload' };
  if (typeof payload === 'number' && (payload === 0 || payload === 1)) return { state: payload === 1 ? 'online' : 'offline', source: 'payload' };
  if (typeof payload === 'string') {
    const state = WORDS[payload.trim().toLowerCase()];
    return state && { state, source: 'payload' };
  }
  if (!isPlainObject(payload)) return undefined;
  if (typeof payload.online === 'boolean') return { state: payload.online ? 'online' : 'offline', source: 'payload' };
  for (const key of ['status', 'state']) {
    const value = payload[key];
    const state = typeof value === 'string' ? WORDS[value.trim().toLowerCase()] : undefined;
    if (state) return { state, source: 'payload' };
  }
  return undefined;
}

/** MQTT payloads arrive as Buffers or JSON text unless the mqtt-in node parsed them. */
function parseJson(payload: unknown): unknown {
  const text = Buffer.isBuffer(payload) ? payload.toString('utf8') : payload;
  if (typeof text !== 'string') return text;
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return trimmed;
  }
}

function unreadable(payload: unknown): never {
  throw new M2MError(
    'INVALID_FIELD',
    `presence could not be read from msg.payload ${describeValue(payload)}: expected online/offline, { online: boolean }, an EMQX client event, a Mosquitto log line or a Sparkplug birth/death topic`,
    { field: 'payload' },
  );
}
