import { M2MError } from '../errors';
import { checkDeviceId } from '../ids';
import { isPlainObject } from '../safe';
import { compileTemplate, templatePattern, type TopicFiller } from '../command/topics';
import { encodeReading, SIMULATOR_FORMATS, type Reading, type SimulatorFormat } from './encoders';
import { checkMetrics, isSpike, nextReading, startLevel, type MetricSpec } from './metrics';
import { makeRandom, type Random } from './random';
import { DEFAULT_REPORT_TOPIC, SET_DESIRED, TwinDeviceState } from './twin-device';
import { ProvisioningClient } from './provisioning-client';

export interface SimulatorOptions {
  /** How many devices; ids are the prefix and a zero-padded number: `sim-001`. */
  devices: number;
  idPrefix?: string;
  /** Telemetry period per device; 0 sends none (the simulator then only answers commands). */
  intervalMs: number;
  metrics?: MetricSpec[];
  format?: SimulatorFormat;
  /** Default `devices/{deviceId}/telemetry`. */
  topic?: string;
  /** Where commands arrive, to read the device id; default `devices/{deviceId}/commands/{command}`. */
  commandTopic?: string;
  /** MQTT 3.1.1 replies go here; MQTT 5 replies go to the command's response topic. Default `devices/{deviceId}/replies`. */
  replyTopic?: string;
  /** Where a device reports its state after applying a `set-desired` command. Default `devices/{deviceId}/reported`. */
  reportTopic?: string;
  /** Where devices ask m2m-provision for a credential, and hear its answers (`<responseTopic>/<deviceId>`). */
  provisionRequestTopic?: string;
  provisionResponseTopic?: string;
  /** Delay before a device answers, plus up to `jitterMs` more at random. */
  latencyMs?: number;
  jitterMs?: number;
  /** Share of commands (0..1) answered with a failure. */
  failureRatio?: number;
  /** Decides per command whether it fails, instead of failureRatio (see failing-fleet.ts). */
  fails?(deviceId: string, command: string): boolean;
  /** Told of every reply as it goes out, e.g. to keep a record of what each device answered. */
  onReply?(deviceId: string, commandId: string | undefined, command: string, failed: boolean): void;
  seed?: number | string;
  publish(message: SimulatorMessage): void;
  /** Called after each telemetry round with all of its messages, instead of `publish` per message. */
  publishBatch?(messages: SimulatorMessage[]): void;
}

export interface SimulatorMessage {
  topic: string;
  payload: unknown;
  deviceId: string;
  kind: 'telemetry' | 'reply' | 'report' | 'provision';
  qos?: 0 | 1;
  correlationData?: Buffer;
  /** MQTT 5: where an answer to this message should go (a provisioning request). */
  responseTopic?: string;
}

export interface IncomingCommand {
  topic?: unknown;
  payload?: unknown;
  responseTopic?: unknown;
  correlationData?: unknown;
}

export type CommandOutcome = 'replied' | 'scheduled' | 'offline' | 'not-simulated';

export interface SimulatorCounts {
  devices: number;
  online: number;
  telemetry: number;
  replies: number;
  failures: number;
  ignored: number;
}

const MAX_DEVICES = 100_000;

/** Simulated devices: telemetry on an interval, and answers to commands after a latency, sometimes failing. */
export class DeviceSimulator {
  readonly ids: readonly string[];
  readonly format: SimulatorFormat;
  private readonly index = new Map<string, number>();
  private readonly metrics: MetricSpec[];
  private readonly levels: Float64Array;
  /** Per device and metric: readings left of a spike that lasts several readings, and its value. */
  private readonly spikeLeft: Uint16Array;
  private readonly spikeValue: Float64Array;
  private readonly offline = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly random: Random;
  private readonly topic: TopicFiller;
  private readonly replyTopic: TopicFiller;
  private readonly reportTopic: TopicFiller;
  /** What each device applied of `set-desired` commands (its twin's reported state). */
  readonly twin = new TwinDeviceState();
  /** Devices enrolling themselves (m2m-provision). */
  readonly provisioning: ProvisioningClient;
  private readonly commandPattern: RegExp;
  private interval: NodeJS.Timeout | undefined;
  private readonly totals = { telemetry: 0, replies: 0, failures: 0, ignored: 0 };

  constructor(private readonly options: SimulatorOptions) {
    const count = options.devices;
    if (!Number.isInteger(count) || count < 1 || count > MAX_DEVICES) {
      throw new M2MError('INVALID_CONFIG', `devices must be a whole number 1..${MAX_DEVICES}`, { field: 'devices' });
    }
    if (!Number.isFinite(options.intervalMs) || options.intervalMs < 0)
      throw new M2MError('INVALID_CONFIG', 'interval must be 0 or more', { field: 'interval' });
    const ratio = options.failureRatio ?? 0;
    if (!(ratio >= 0 && ratio <= 1)) throw new M2MError('INVALID_CONFIG', 'failure ratio must be 0..1', { field: 'failureRatio' });
    this.format = options.format ?? 'json';
    if (!SIMULATOR_FORMATS.includes(this.format))
      throw new M2MError('INVALID_CONFIG', `format must be one of ${SIMULATOR_FORMATS.join(', ')}`, { field: 'format' });
    const prefix = options.idPrefix ?? 'sim-';
    const width = Math.max(3, String(count).length);
    this.ids = Array.from({ length: count }, (_, i) => checkDeviceId(`${prefix}${String(i + 1).padStart(width, '0')}`, 'idPrefix'));
    this.ids.forEach((id, i) => this.index.set(id, i));
    this.metrics = checkMetrics(options.metrics ?? [{ name: 'temperature', min: 18, max: 26, noise: 0.2, drift: 0.1, unit: 'Cel', lppType: 'temperature' }]);
    this.random = makeRandom(options.seed);
    this.levels = new Float64Array(count * this.metrics.length);
    this.spikeLeft = new Uint16Array(count * this.metrics.length);
    this.spikeValue = new Float64Array(count * this.metrics.length);
    for (let d = 0; d < count; d++) this.metrics.forEach((m, k) => (this.levels[d * this.metrics.length + k] = startLevel(m, this.random)));
    this.topic = compileTemplate(options.topic ?? 'devices/{deviceId}/telemetry');
    this.replyTopic = compileTemplate(options.replyTopic ?? 'devices/{deviceId}/replies');
    this.reportTopic = compileTemplate(options.reportTopic ?? DEFAULT_REPORT_TOPIC);
    this.provisioning = new ProvisioningClient({
      requestTopic: options.provisionRequestTopic,
      responseTopic: options.provisionResponseTopic,
      publish: (m) => options.publish(m),
    });
    this.commandPattern = templatePattern(options.commandTopic ?? 'devices/{deviceId}/commands/{command}');
  }

  counts(): SimulatorCounts {
    return { devices: this.ids.length, online: this.ids.length - this.offline.size, ...this.totals };
  }

  isOnline(deviceId: string): boolean {
    return this.index.has(deviceId) && !this.offline.has(deviceId);
  }

  start(): void {
    if (this.interval || this.options.intervalMs === 0) return;
    this.interval = setInterval(() => this.tick(), this.options.intervalMs);
  }

  private nextValue(slot: number, spec: MetricSpec): number {
    if (this.spikeLeft[slot] > 0) {
      this.spikeLeft[slot]--;
      return this.spikeValue[slot];
    }
    const [value, level] = nextReading(spec, this.levels[slot], this.random);
    this.levels[slot] = level;
    if ((spec.spikeLength ?? 1) > 1 && isSpike(spec, value)) {
      this.spikeLeft[slot] = (spec.spikeLength ?? 1) - 1;
      this.spikeValue[slot] = value;
    }
    return value;
  }

  /** One telemetry round: a message from every online device. */
  tick(now = Date.now()): SimulatorMessage[] {
    const messages: SimulatorMessage[] = [];
    const n = this.metrics.length;
    this.ids.forEach((deviceId, d) => {
      if (this.offline.has(deviceId)) return;
      const reading: Reading = {};
      for (let k = 0; k < n; k++) {
        reading[this.metrics[k].name] = this.nextValue(d * n + k, this.metrics[k]);
      }
      const payload = encodeReading(this.format, deviceId, reading, now, this.metrics);
      messages.push({ topic: this.topic({ deviceId, command: '', id: '' }), payload, deviceId, kind: 'telemetry', qos: 0 });
    });
    this.totals.telemetry += messages.length;
    if (this.options.publishBatch) this.options.publishBatch(messages);
    else messages.forEach((m) => this.options.publish(m));
    return messages;
  }

  /** Takes a device offline (it stops sending and answering) or back online; all devices when no id is given. */
  setOnline(deviceId: string | undefined, online: boolean, forMs = 0): void {
    const ids = deviceId === undefined ? this.ids : [deviceId];
    for (const id of ids) {
      if (!this.index.has(id)) throw new M2MError('DEVICE_NOT_FOUND', `${id} is not one of the simulated devices`, { field: 'deviceId' });
      if (online) this.offline.delete(id);
      else this.offline.add(id);
    }
    if (forMs > 0) this.later(forMs, () => this.setOnline(deviceId, !online));
  }

  /**
   * Answers a command as the device would: MQTT 5 style to `responseTopic` with the same `correlationData`,
   * otherwise on the reply topic with the id in the payload. The commands `offline` (params `{ forMs }`) and
   * `online` are answered, then change the device's state.
   */
  command(incoming: IncomingCommand): CommandOutcome {
    const topic = typeof incoming.topic === 'string' ? incoming.topic : '';
    const deviceId = this.commandPattern.exec(topic)?.groups?.deviceId;
    if (deviceId === undefined || !this.index.has(deviceId)) {
      this.totals.ignored++;
      return 'not-simulated';
    }
    if (this.offline.has(deviceId)) {
      this.totals.ignored++;
      return 'offline';
    }
    const request = parseCommand(incoming.payload, topic);
    const correlation = incoming.correlationData instanceof Uint8Array ? Buffer.from(incoming.correlationData) : undefined;
    const responseTopic = typeof incoming.responseTopic === 'string' && incoming.responseTopic !== '' ? incoming.responseTopic : undefined;
    if (request.id === undefined && !correlation)
      throw new M2MError('BAD_COMMAND', `command on ${topic} has no id and no correlation data`, { field: 'payload' });
    const fails = this.options.fails
      ? this.options.fails(deviceId, request.command)
      : (this.options.failureRatio ?? 0) > 0 && this.random() < (this.options.failureRatio ?? 0);
    const body: Record<string, unknown> = fails
      ? { status: 'error', error: `simulated failure of ${request.command}` }
      : { status: 'ok', result: { device: deviceId, command: request.command, done: true } };
    if (request.id !== undefined) body.id = request.id;
    const reply: SimulatorMessage = {
      topic: responseTopic ?? this.replyTopic({ deviceId, command: request.command, id: request.id ?? '' }),
      payload: body,
      deviceId,
      kind: 'reply',
      qos: 1,
    };
    if (correlation && responseTopic) reply.correlationData = correlation;
    const after = (): void => {
      if (fails) this.totals.failures++;
      this.totals.replies++;
      this.options.onReply?.(deviceId, request.id, request.command, fails);
      this.options.publish(reply);
      if (!fails && request.command === 'offline') this.setOnline(deviceId, false, Number(request.params?.forMs) || 0);
      if (!fails && request.command === SET_DESIRED) this.report(deviceId, this.twin.apply(deviceId, request.params));
    };
    const delay = (this.options.latencyMs ?? 0) + (this.options.jitterMs ? this.random() * this.options.jitterMs : 0);
    if (delay <= 0) {
      after();
      return 'replied';
    }
    this.later(delay, after);
    return 'scheduled';
  }

  /** A device reports its applied state on its report topic (after a `set-desired`). */
  private report(deviceId: string, state: Record<string, unknown>): void {
    this.options.publish({ topic: this.reportTopic({ deviceId, command: '', id: '' }), payload: state, deviceId, kind: 'report', qos: 1 });
  }

  close(): void {
    if (this.interval) clearInterval(this.interval);
    this.interval = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.provisioning.close();
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

interface ParsedCommand {
  id?: string;
  command: string;
  params?: Record<string, unknown>;
}

function parseCommand(payload: unknown, topic: string): ParsedCommand {
  let body = payload;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    try {
      body = JSON.parse(text);
    } catch {
      throw new M2MError('BAD_COMMAND', `command on ${topic} is not JSON`, { field: 'payload' });
    }
  }
  if (!isPlainObject(body)) throw new M2MError('BAD_COMMAND', `command on ${topic} must be a JSON object { id, command, params }`, { field: 'payload' });
  const id = typeof body.id === 'string' || typeof body.id === 'number' ? String(body.id) : undefined;
  const command = typeof body.command === 'string' ? body.command : '';
  return { id, command, params: isPlainObject(body.params) ? body.params : undefined };
}
