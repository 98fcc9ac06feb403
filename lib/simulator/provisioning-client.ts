import { randomBytes } from 'crypto';
import { isPlainObject } from '../safe';
import type { SimulatorMessage } from './simulator';

export const DEFAULT_PROVISION_REQUEST_TOPIC = 'provision/request';
export const DEFAULT_PROVISION_RESPONSE_TOPIC = 'provision/response';

export interface EnrolOptions {
  provisionKey: string;
  provisionSecret: string;
  attributes?: Record<string, unknown>;
  /** Ask as an MQTT 5 device: to the request topic itself, with a response topic and correlation data. */
  mqtt5?: boolean;
}

export interface ProvisioningClientOptions {
  requestTopic?: string;
  responseTopic?: string;
  publish(message: SimulatorMessage): void;
  /** A rate-limited device asks again after the time it was told, at most this many times. Default 5. */
  maxRetries?: number;
}

export type EnrolState = 'asking' | 'enrolled' | 'refused' | 'failed';

interface Enrolment {
  options: EnrolOptions;
  state: EnrolState;
  retries: number;
  correlation?: Buffer;
  credential?: string;
  status?: string;
}

/**
 * Simulated devices enrolling themselves with m2m-provision: each publishes a request with its id as the device
 * name and client id, keeps the credential it is answered (the only place it is ever shown), and asks again after
 * a RATE_LIMITED answer's retryAfterMs.
 */
export class ProvisioningClient {
  private readonly enrolments = new Map<string, Enrolment>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly requestTopic: string;
  readonly responseTopic: string;

  constructor(private readonly options: ProvisioningClientOptions) {
    this.requestTopic = options.requestTopic ?? DEFAULT_PROVISION_REQUEST_TOPIC;
    this.responseTopic = options.responseTopic ?? DEFAULT_PROVISION_RESPONSE_TOPIC;
  }

  /** Each device sends its request now. */
  enrol(deviceIds: readonly string[], options: EnrolOptions): void {
    for (const id of deviceIds) {
      const enrolment: Enrolment = { options, state: 'asking', retries: 0 };
      this.enrolments.set(id, enrolment);
      this.ask(id, enrolment);
    }
  }

  /** Whether `topic` is where this client's devices hear their answers (MQTT 3.1.1 style or its own MQTT 5 response topic). */
  isAnswer(topic: unknown): boolean {
    return typeof topic === 'string' && topic.startsWith(`${this.responseTopic}/`);
  }

  /** Takes an answer: the device keeps its credential, or notes the refusal, or asks again later when rate limited. */
  answer(topic: string, payload: unknown, correlationData?: unknown): EnrolState | 'ignored' {
    const id = topic.slice(this.responseTopic.length + 1);
    const enrolment = this.enrolments.get(id);
    if (!enrolment || enrolment.state !== 'asking') return 'ignored';
    if (enrolment.correlation && !(correlationData instanceof Uint8Array && Buffer.from(correlationData).equals(enrolment.correlation))) return 'ignored';
    const body = parse(payload);
    const status = typeof body?.status === 'string' ? body.status : 'unreadable';
    enrolment.status = status;
    if (status === 'SUCCESS' && typeof body?.credentialsValue === 'string') {
      enrolment.state = 'enrolled';
      enrolment.credential = body.credentialsValue;
    } else if (status === 'RATE_LIMITED' && enrolment.retries < (this.options.maxRetries ?? 5)) {
      enrolment.retries++;
      this.later(Math.max(1, Number(body?.retryAfterMs) || 1000), () => this.ask(id, enrolment));
    } else {
      enrolment.state = status === 'NOT_AUTHORIZED' ? 'refused' : 'failed';
    }
    return enrolment.state;
  }

  /** The credential a device was given, if it enrolled. */
  credentialOf(deviceId: string): string | undefined {
    return this.enrolments.get(deviceId)?.credential;
  }

  stateOf(deviceId: string): { state: EnrolState; status?: string } | undefined {
    const e = this.enrolments.get(deviceId);
    return e && { state: e.state, status: e.status };
  }

  counts(): Record<EnrolState, number> {
    const counts: Record<EnrolState, number> = { asking: 0, enrolled: 0, refused: 0, failed: 0 };
    for (const e of this.enrolments.values()) counts[e.state]++;
    return counts;
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private ask(id: string, enrolment: Enrolment): void {
    const { provisionKey, provisionSecret, attributes, mqtt5 } = enrolment.options;
    const payload: Record<string, unknown> = { provisionKey, provisionSecret, deviceName: id };
    if (attributes !== undefined) payload.attributes = attributes;
    const message: SimulatorMessage = { topic: `${this.requestTopic}/${id}`, payload, deviceId: id, kind: 'provision', qos: 1 };
    if (mqtt5) {
      enrolment.correlation = randomBytes(8);
      message.topic = this.requestTopic;
      message.responseTopic = `${this.responseTopic}/${id}`;
      message.correlationData = enrolment.correlation;
    }
    this.options.publish(message);
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

function parse(payload: unknown): Record<string, unknown> | undefined {
  let body = payload;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    try {
      body = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
    } catch {
      return undefined;
    }
  }
  return isPlainObject(body) ? body : undefined;
}
