import type { IClientOptions, MqttClient } from 'mqtt';
import { mqttLibrary } from './mqtt-library';
import { SPARKPLUG_NAMESPACE, parseState, statePayload, stateTopic } from './state';

// The host application's own MQTT session (Sparkplug 3.0, section 7.1): its STATE will is set on CONNECT, so it
// cannot share the connection of Node-RED's mqtt-broker node, whose will belongs to that node.
// Order on every connect: subscribe to our STATE and the namespace, then publish STATE online: true (retained,
// QoS 1) with the timestamp the will of this connection carries.

export interface HostConnectionOptions {
  url: string;
  hostId: string;
  clientId?: string;
  username?: string;
  password?: string;
  /** Sparkplug groups to subscribe to; empty for all (spBv1.0/#). */
  groups?: string[];
  keepaliveS?: number;
  onMessage(topic: string, payload: Buffer): void;
  onStatus?(status: 'connecting' | 'online' | 'offline' | 'error', detail?: string): void;
  /** The clock of the STATE timestamps; tests give their own. */
  now?: () => number;
}

export type Connect = (url: string, options: IClientOptions) => MqttClient;

export class HostConnection {
  private readonly client: MqttClient;
  private readonly topic: string;
  private readonly now: () => number;
  private timestamp: number;
  private stopping = false;

  constructor(
    private readonly options: HostConnectionOptions,
    connect: Connect = (url, connectOptions) => mqttLibrary().connect(url, connectOptions),
  ) {
    this.now = options.now ?? Date.now;
    this.topic = stateTopic(options.hostId);
    this.timestamp = this.now();
    this.options.onStatus?.('connecting');
    this.client = connect(options.url, {
      clientId: options.clientId || `m2m-sparkplug-host-${options.hostId}-${Math.random().toString(16).slice(2, 8)}`,
      username: options.username || undefined,
      password: options.password || undefined,
      keepalive: options.keepaliveS ?? 30,
      clean: true,
      reconnectPeriod: 2000,
      will: this.will(),
    });
    this.client.on('connect', () => this.online());
    this.client.on('message', (topic, payload) => this.message(topic, payload));
    this.client.on('close', () => {
      if (this.stopping) return;
      // the next connection gets a will of its own, and its birth the same timestamp
      this.timestamp = this.now();
      this.client.options.will = this.will();
      this.options.onStatus?.('offline');
    });
    this.client.on('error', (err) => this.options.onStatus?.('error', err.message));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Commands go at QoS 0 and not retained (Sparkplug 3.0: NCMD and DCMD). */
  publishCommand(topic: string, payload: Buffer): void {
    this.client.publish(topic, payload, { qos: 0, retain: false });
  }

  /** Clean stop: STATE online: false (retained, QoS 1) before disconnecting. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.client.connected) {
      try {
        await this.client.publishAsync(this.topic, statePayload(false, this.now()), { qos: 1, retain: true });
      } catch {
        // the will says the same once the broker notices
      }
    }
    await this.client.endAsync(!this.client.connected);
  }

  private will(): NonNullable<IClientOptions['will']> {
    return { topic: this.topic, payload: statePayload(false, this.timestamp), qos: 1, retain: true };
  }

  private online(): void {
    const groups = this.options.groups?.length ? this.options.groups : ['#'];
    const topics = [this.topic, ...groups.map((g) => (g === '#' ? `${SPARKPLUG_NAMESPACE}/#` : `${SPARKPLUG_NAMESPACE}/${g}/#`))];
    this.client.subscribe(topics, { qos: 1 }, (err) => {
      if (err) {
        this.options.onStatus?.('error', `subscribe: ${err.message}`);
        return;
      }
      this.publishBirth();
    });
  }

  private publishBirth(): void {
    this.client.publish(this.topic, statePayload(true, this.timestamp), { qos: 1, retain: true }, (err) => {
      this.options.onStatus?.(err ? 'error' : 'online', err?.message);
    });
  }

  private message(topic: string, payload: Buffer): void {
    if (topic === this.topic) {
      // another client says we are offline while we are connected: say otherwise (an older will of ours is not news)
      const state = parseState(payload);
      if (state && !state.online && state.timestamp >= this.timestamp && this.client.connected && !this.stopping) this.publishBirth();
      return;
    }
    this.options.onMessage(topic, payload);
  }
}
