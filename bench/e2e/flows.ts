// The four sides of bench:e2e as Node-RED flows. Every side reads bench/<deviceId>/telemetry (JSON text) from
// the same broker and publishes what it decides on MQTT: alarm events on alarm/<deviceId>/<rule>, or (the
// ceiling) every message on out/<topic>.
import type { FlowNode } from '../../test/helpers/node-red';

/** `before`: the pack flow with the pack as it was at an earlier commit (--before), in the same run. */
export type Side = 'pack' | 'before' | 'core' | 'floor' | 'ceiling';
export const SIDES: readonly Side[] = ['pack', 'core', 'floor', 'ceiling'];

export const BROKER_ID = 'bench.broker';
export const TELEMETRY_TOPIC = 'bench/+/telemetry';

/** The plant example's three rules (examples/plant-monitoring.json), as the pack side's m2m-rule has them. */
export const PLANT_RULES = [
  {
    name: 'overheat',
    metric: 'temperature',
    severity: 'major',
    raise: { op: '>', value: 80, valueType: 'num' },
    clear: { op: '<', value: 77, valueType: 'num' },
    raiseSamples: 2,
    raiseDelay: 0,
    clearDelay: 0,
    latch: false,
    scope: 'all',
    text: '{{deviceId}} overheat {{event}}: {{value}} °C (threshold {{threshold}} °C)',
  },
  {
    name: 'vibration-jump',
    metric: 'vibration',
    severity: 'minor',
    raise: { op: 'rate', value: 1.5, valueType: 'num', per: 's', direction: 'rise' },
    latch: false,
    scope: 'all',
    text: '{{deviceId}} vibration jump {{event}}: now {{value}} mm/s (limit {{threshold}} mm/s per s)',
  },
  {
    name: 'sensor-stale',
    metric: 'temperature',
    severity: 'warning',
    raise: { op: 'nodata', value: 10 },
    escalateAfter: 20,
    escalateTo: 'major',
    latch: false,
    scope: 'all',
    text: '{{deviceId}} sensor stale {{event}} ({{severity}}): no temperature for {{threshold}} s',
  },
];

const tab = { id: 'bench.tab', type: 'tab', label: 'bench' };

function broker(port: number): FlowNode {
  return {
    id: BROKER_ID,
    type: 'mqtt-broker',
    name: 'bench broker',
    broker: '127.0.0.1',
    port: String(port),
    clientid: '',
    autoConnect: true,
    usetls: false,
    protocolVersion: '4',
    keepalive: '60',
    cleansession: true,
    autoUnsubscribe: true,
    birthTopic: '',
    closeTopic: '',
    willTopic: '',
  };
}

function mqttIn(next: string): FlowNode {
  return {
    id: 'bench.in',
    type: 'mqtt in',
    z: tab.id,
    name: 'telemetry',
    topic: TELEMETRY_TOPIC,
    qos: '0',
    datatype: 'utf8',
    broker: BROKER_ID,
    nl: false,
    rap: true,
    rh: 0,
    inputs: 0,
    wires: [[next]],
  };
}

function mqttOut(topic = ''): FlowNode {
  return { id: 'bench.out', type: 'mqtt out', z: tab.id, name: 'out', topic, qos: '', retain: '', broker: BROKER_ID, wires: [] };
}

/** mqtt in → m2m-telemetry → m2m-device touch → m2m-rule (3 rules) → mqtt out, configured as in the plant example. */
function packFlow(): FlowNode[] {
  return [
    {
      id: 'bench.registry',
      type: 'm2m-registry',
      name: 'machines',
      storeType: 'memory',
      offlineTimeout: '30',
      deviceTypes: JSON.stringify([{ name: 'machine', offlineTimeoutMs: 15000 }]),
    },
    mqttIn('bench.telemetry'),
    {
      id: 'bench.telemetry',
      type: 'm2m-telemetry',
      z: tab.id,
      name: 'parse JSON',
      format: 'json',
      encoding: 'auto',
      senmlEncoding: 'auto',
      mapping: [],
      timestampPath: 'ts',
      binarySpec: [],
      kvMode: 'auto',
      innerFormat: 'decoded',
      deviceIdFrom: 'topic',
      topicPattern: 'bench/{deviceId}/telemetry',
      deviceIdPath: '',
      fixedDeviceId: '',
      validation: 'none',
      schema: '',
      registry: '',
      rejectOutput: false,
      maxBytes: 262144,
      maxRecords: 10000,
      wires: [['bench.touch'], []],
    },
    {
      id: 'bench.touch',
      type: 'm2m-device',
      z: tab.id,
      name: 'touch (auto-register)',
      registry: 'bench.registry',
      operation: 'touch',
      upsert: false,
      issueToken: false,
      autoRegister: true,
      autoType: 'machine',
      pageSize: 100,
      events: 'registered,online,offline',
      resultTo: 'device',
      wires: [['bench.rules'], []],
    },
    {
      id: 'bench.rules',
      type: 'm2m-rule',
      z: tab.id,
      name: 'plant alarms',
      registry: 'bench.registry',
      rules: PLANT_RULES,
      outputs: 1,
      contextStore: '',
      shelveFor: 3600,
      idleHours: 24,
      maxDevices: 100000,
      wires: [['bench.out']],
    },
    mqttOut(),
  ];
}

/** mqtt in → json → function (the same decisions, written as a user would in a function node) → mqtt out. */
function coreFlow(): FlowNode[] {
  return [
    mqttIn('bench.json'),
    { id: 'bench.json', type: 'json', z: tab.id, name: '', property: 'payload', action: '', pretty: false, wires: [['bench.function']] },
    {
      id: 'bench.function',
      type: 'function',
      z: tab.id,
      name: 'registry and 3 rules',
      func: FUNCTION_BODY,
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: FUNCTION_SETUP,
      finalize: 'clearInterval(context.get("sweep"));',
      libs: [],
      wires: [['bench.out']],
    },
    mqttOut(),
  ];
}

function floorFlow(): FlowNode[] {
  return [mqttIn('bench.floor'), { id: 'bench.floor', type: 'bench-floor', z: tab.id, name: 'all in one', wires: [['bench.out']] }, mqttOut()];
}

function ceilingFlow(): FlowNode[] {
  return [mqttIn('bench.pass'), { id: 'bench.pass', type: 'bench-pass', z: tab.id, name: 'pass-through', wires: [['bench.out']] }, mqttOut()];
}

export function sideFlow(side: Side, brokerPort: number): FlowNode[] {
  const nodes = { pack: packFlow, before: packFlow, core: coreFlow, floor: floorFlow, ceiling: ceilingFlow }[side]();
  return [tab, broker(brokerPort), ...nodes];
}

// The function node's code: the registry (auto-register, last seen, online) and the three rules, per device,
// in node context; a 1 s sweep raises the no-data alarm. The bench-floor node (bare-nodes.ts) does the same.
const FUNCTION_SETUP = `
context.set('devices', new Map());
context.set('sweep', setInterval(() => {
  const now = Date.now();
  for (const d of context.get('devices').values()) {
    if (!d.staleActive && now - d.tempAt > 10000) {
      d.staleActive = true;
      node.send({ topic: 'alarm/' + d.id + '/sensor-stale', deviceId: d.id, payload: { deviceId: d.id, rule: 'sensor-stale', event: 'raised', severity: 'warning', value: null, threshold: 10, ts: now, text: d.id + ' sensor stale raised (warning): no temperature for 10 s' } });
    }
  }
}, 1000));
`;

const FUNCTION_BODY = `
const id = msg.topic.split('/')[1];
const now = Date.now();
const devices = context.get('devices');
let d = devices.get(id);
if (d === undefined) {
  d = { id, type: 'machine', registeredAt: now, lastSeen: now, online: true, run: 0, active: false, tempAt: now, staleActive: false, vib: undefined, vibAt: 0, vibActive: false };
  devices.set(id, d);
}
d.lastSeen = now;
d.online = true;
const p = msg.payload;
const ts = typeof p.ts === 'number' ? p.ts : now;
const out = [];
const alarm = (rule, event, severity, value, threshold, text) => out.push({ topic: 'alarm/' + id + '/' + rule, deviceId: id, payload: { deviceId: id, rule, event, severity, value, threshold, ts, text } });
const t = p.temperature;
if (typeof t === 'number') {
  d.tempAt = now;
  if (d.staleActive) { d.staleActive = false; alarm('sensor-stale', 'cleared', 'warning', t, 10, id + ' sensor stale cleared'); }
  d.run = t > 80 ? d.run + 1 : 0;
  if (!d.active && d.run >= 2) { d.active = true; alarm('overheat', 'raised', 'major', t, 80, id + ' overheat raised: ' + t + ' °C (threshold 80 °C)'); }
  else if (d.active && t < 77) { d.active = false; alarm('overheat', 'cleared', 'major', t, 77, id + ' overheat cleared: ' + t + ' °C (threshold 77 °C)'); }
}
const v = p.vibration;
if (typeof v === 'number') {
  if (d.vib !== undefined && ts > d.vibAt) {
    const rate = (v - d.vib) / ((ts - d.vibAt) / 1000);
    if (!d.vibActive && rate > 1.5) { d.vibActive = true; alarm('vibration-jump', 'raised', 'minor', v, 1.5, id + ' vibration jump raised: now ' + v + ' mm/s'); }
    else if (d.vibActive && rate <= 1.5) { d.vibActive = false; alarm('vibration-jump', 'cleared', 'minor', v, 1.5, id + ' vibration jump cleared: now ' + v + ' mm/s'); }
  }
  d.vib = v;
  d.vibAt = ts;
}
return out.length === 0 ? null : [out];
`;
