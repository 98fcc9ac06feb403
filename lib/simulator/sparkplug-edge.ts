import { M2MError } from '../errors';
import { encodeSparkplugPayload, type MetricToEncode } from '../telemetry/sparkplug-codec';
import { decodeFullPayload } from '../sparkplug/wire';
import { readValue } from '../sparkplug/values';
import { nextReading, startLevel, type MetricSpec } from './metrics';
import type { Random } from './random';

// A simulated Sparkplug B edge node with devices, for demos and the m2m-sparkplug-host example: NBIRTH and
// DBIRTHs (names, aliases, datatypes, bdSeq), DDATA by alias only with seq 0-255, NDEATH/DDEATH when taken
// offline (as the broker would publish its will), a rebirth on `Node Control/Rebirth`, and DCMD writes of the
// writable `setpoint` metric, applied and reported back in the next DDATA.

export interface SparkplugEdgeMessage {
  topic: string;
  payload: Buffer;
  deviceId: string;
  qos: 0;
}

export interface SparkplugEdgeOptions {
  group: string;
  node: string;
  devices: readonly string[];
  metrics: readonly MetricSpec[];
  intervalMs: number;
  random: Random;
  publish(message: SparkplugEdgeMessage): void;
  now?: () => number;
}

interface SimulatedDevice {
  name: string;
  online: boolean;
  levels: number[];
  setpoint: number;
}

/** The alias of metric i of a device (the setpoint comes after the measured metrics). */
const alias = (i: number): number => i + 1;

export class SparkplugEdgeSimulator {
  private readonly devices = new Map<string, SimulatedDevice>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private bdSeq = 0;
  private online = false;
  private sent = 0;

  constructor(private readonly options: SparkplugEdgeOptions) {
    this.now = options.now ?? Date.now;
    for (const name of options.devices) {
      this.devices.set(name, { name, online: true, levels: options.metrics.map((m) => startLevel(m, options.random)), setpoint: 20 });
    }
  }

  get ids(): string[] {
    return [...this.devices.keys()];
  }

  counts(): { devices: number; online: number; messages: number } {
    const online = this.online ? [...this.devices.values()].filter((d) => d.online).length : 0;
    return { devices: this.devices.size, online, messages: this.sent };
  }

  start(): void {
    this.birth();
    if (this.options.intervalMs > 0) this.timer = setInterval(() => this.tick(), this.options.intervalMs);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round of DDATA, every metric by alias only. */
  tick(): void {
    if (!this.online) return;
    for (const device of this.devices.values()) {
      if (!device.online) continue;
      const metrics: MetricToEncode[] = this.options.metrics.map((spec, i) => {
        const [value, level] = nextReading(spec, device.levels[i], this.options.random);
        device.levels[i] = level;
        return { alias: alias(i), type: 'Double', value };
      });
      this.publishData(device, metrics);
    }
  }

  /** Takes the edge node (device undefined) or one device offline: NDEATH with the session's bdSeq, or DDEATH. */
  setOnline(device: string | undefined, online: boolean): void {
    if (device === undefined) {
      if (online === this.online) return;
      if (online) {
        this.bdSeq = (this.bdSeq + 1) % 256; // a new MQTT session
        this.birth();
      } else {
        this.online = false;
        this.send(
          `spBv1.0/${this.options.group}/NDEATH/${this.options.node}`,
          this.options.node,
          encodeSparkplugPayload({ timestamp: this.now(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: this.bdSeq }] }),
        );
      }
      return;
    }
    const target = this.device(device);
    if (target.online === online) return;
    target.online = online;
    if (!this.online) return;
    if (online) this.deviceBirth(target);
    else this.send(this.topic('DDEATH', target.name), target.name, encodeSparkplugPayload({ timestamp: this.now(), seq: this.nextSeq(), metrics: [] }));
  }

  /** An NCMD or DCMD for this edge node (its own other messages are passed over); false when the topic is not this edge node's. */
  command(topic: unknown, payload: unknown): boolean {
    const prefix = `spBv1.0/${this.options.group}/`;
    if (typeof topic !== 'string' || !topic.startsWith(prefix)) return false;
    const [type, node, device] = topic.slice(prefix.length).split('/');
    if (node !== this.options.node) return false;
    if (type !== 'NCMD' && type !== 'DCMD') return true; // its own births and data, heard back on a wide subscription
    if (!(payload instanceof Uint8Array)) throw new M2MError('INVALID_PAYLOAD', `${type} payload must be Sparkplug B protobuf bytes`, { field: 'payload' });
    const metrics = decodeFullPayload(payload).metrics ?? [];
    if (type === 'NCMD') {
      if (metrics.some((m) => m.name === 'Node Control/Rebirth' && m.booleanValue === true)) this.birth();
      return true;
    }
    const target = this.device(device);
    const setpointAlias = alias(this.options.metrics.length);
    for (const metric of metrics) {
      if (metric.name !== 'setpoint' && Number(metric.alias) !== setpointAlias) continue;
      const value = readValue(metric, metric.datatype ?? 10);
      if (typeof value === 'number') target.setpoint = value;
    }
    // the device applies the write and reports the value it now holds
    if (this.online && target.online) this.publishData(target, [{ alias: setpointAlias, type: 'Double', value: target.setpoint }]);
    return true;
  }

  private birth(): void {
    this.online = true;
    this.seq = 0;
    const metrics: MetricToEncode[] = [
      { name: 'bdSeq', type: 'UInt64', value: this.bdSeq },
      { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
    ];
    this.send(
      `spBv1.0/${this.options.group}/NBIRTH/${this.options.node}`,
      this.options.node,
      encodeSparkplugPayload({ timestamp: this.now(), seq: this.nextSeq(), metrics }),
    );
    for (const device of this.devices.values()) if (device.online) this.deviceBirth(device);
  }

  private deviceBirth(device: SimulatedDevice): void {
    const metrics: MetricToEncode[] = this.options.metrics.map((spec, i) => ({ name: spec.name, alias: alias(i), type: 'Double', value: device.levels[i] }));
    metrics.push({ name: 'setpoint', alias: alias(this.options.metrics.length), type: 'Double', value: device.setpoint });
    this.send(this.topic('DBIRTH', device.name), device.name, encodeSparkplugPayload({ timestamp: this.now(), seq: this.nextSeq(), metrics }));
  }

  private publishData(device: SimulatedDevice, metrics: MetricToEncode[]): void {
    // data carries aliases, not names (the birth taught them), as Tahu's clients send it
    this.send(this.topic('DDATA', device.name), device.name, encodeSparkplugPayload({ timestamp: this.now(), seq: this.nextSeq(), metrics }));
  }

  private send(topic: string, deviceId: string, payload: Buffer): void {
    this.sent++;
    this.options.publish({ topic, payload, deviceId, qos: 0 });
  }

  private topic(type: string, device: string): string {
    return `spBv1.0/${this.options.group}/${type}/${this.options.node}/${device}`;
  }

  private nextSeq(): number {
    const seq = this.seq;
    this.seq = (this.seq + 1) % 256;
    return seq;
  }

  private device(name: string | undefined): SimulatedDevice {
    const device = name === undefined ? undefined : this.devices.get(name);
    if (!device) throw new M2MError('DEVICE_NOT_FOUND', `the simulated edge node ${this.options.node} has no device ${String(name)}`, { field: 'deviceId' });
    return device;
  }
}
