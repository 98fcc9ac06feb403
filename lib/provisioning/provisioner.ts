import { M2MError, errorMessage } from '../errors';
import { KeyedQueue } from '../keyed-queue';
import { hashToken, verifyToken } from '../registry/credentials';
import type { DeviceRegistryApi } from '../registry/types';
import { KeyRateLimiter, type RateLimitOptions } from './rate-limit';
import { parseRequest, requestBody } from './request';

/** `allow-create`: a new device is registered and given a credential; `pre-provisioned`: it must exist, without one. */
export const PROVISION_POLICIES = ['allow-create', 'pre-provisioned'] as const;
export type ProvisionPolicy = (typeof PROVISION_POLICIES)[number];

/** One provisioning key: the devices that enrol with it get this device type. */
export interface ProvisionProfile {
  key: string;
  /** The plain secret, hashed when the provisioner is made and then dropped. */
  secret: string;
  deviceType: string;
}

export interface ProvisionerOptions {
  registry: DeviceRegistryApi;
  profiles: ProvisionProfile[];
  policy: ProvisionPolicy;
  rateLimit: RateLimitOptions;
}

/**
 * The answer a device gets. Wrong secret, unknown key, a device that exists (allow-create), one that does not or
 * already has a credential (pre-provisioned), a replayed request: all the same NOT_AUTHORIZED.
 */
export type ProvisionAnswer =
  | { status: 'SUCCESS'; deviceId: string; credentialsType: 'ACCESS_TOKEN'; credentialsValue: string }
  | { status: 'NOT_AUTHORIZED' }
  | { status: 'BAD_REQUEST'; error: string; field?: string }
  | { status: 'RATE_LIMITED'; retryAfterMs: number }
  | { status: 'UNAVAILABLE' };

/** For the flow (never sent to the device): what happened and why, without secret or credential. */
export interface ProvisionOutcome {
  answer: ProvisionAnswer;
  /** `provisioned`, or why not. */
  event: 'provisioned' | 'refused' | 'bad-request' | 'rate-limited' | 'failed';
  reason?: 'unknown-key' | 'wrong-secret' | 'device-exists' | 'device-not-found' | 'has-credential' | 'wrong-type';
  deviceId?: string;
  provisionKey?: string;
  /** The store failure behind UNAVAILABLE, for a Catch node. */
  error?: unknown;
}

interface KeptProfile {
  secretHash: string;
  deviceType: string;
}

const NOT_AUTHORIZED: ProvisionAnswer = Object.freeze({ status: 'NOT_AUTHORIZED' });

/** Enrols devices that prove they know a provisioning key's secret. */
export class Provisioner {
  private readonly profiles = new Map<string, KeptProfile>();
  private readonly limiter: KeyRateLimiter;
  // one request per device at a time, so two requests for one device cannot both be issued a credential
  private readonly perDevice = new KeyedQueue();

  constructor(private readonly options: Omit<ProvisionerOptions, 'profiles'> & { profiles: ProvisionProfile[] }) {
    if (!(PROVISION_POLICIES as readonly string[]).includes(options.policy)) {
      throw new M2MError('INVALID_CONFIG', `policy must be one of ${PROVISION_POLICIES.join(', ')}`, { field: 'policy' });
    }
    const { perSecond, burst } = options.rateLimit;
    if (!(perSecond > 0) || !(burst >= 1))
      throw new M2MError('INVALID_CONFIG', 'the rate limit needs a rate above 0 and a burst of 1 or more', { field: 'rateLimit' });
    for (const profile of options.profiles) {
      if (typeof profile.key !== 'string' || profile.key === '')
        throw new M2MError('INVALID_CONFIG', 'every provisioning profile needs a key', { field: 'profiles' });
      if (this.profiles.has(profile.key))
        throw new M2MError('INVALID_CONFIG', `provisioning key ${JSON.stringify(profile.key)} is given twice`, { field: 'profiles' });
      if (typeof profile.secret !== 'string' || profile.secret.length < 8) {
        throw new M2MError('INVALID_CONFIG', `the secret of provisioning key ${JSON.stringify(profile.key)} must be at least 8 characters`, {
          field: 'secrets',
        });
      }
      if (typeof profile.deviceType !== 'string')
        throw new M2MError('INVALID_CONFIG', `provisioning key ${JSON.stringify(profile.key)} needs a device type`, { field: 'profiles' });
      this.profiles.set(profile.key, { secretHash: hashToken(profile.secret), deviceType: profile.deviceType });
    }
    this.limiter = new KeyRateLimiter(options.rateLimit);
  }

  /** Answers one request payload (JSON text, Buffer or object). Never throws; a store failure is an UNAVAILABLE answer. */
  async provision(payload: unknown): Promise<ProvisionOutcome> {
    let request;
    try {
      request = parseRequest(requestBody(payload));
    } catch (err) {
      const field = err instanceof M2MError ? err.field : undefined;
      return { answer: { status: 'BAD_REQUEST', error: errorMessage(err), field }, event: 'bad-request' };
    }
    const provisionKey = request.provisionKey;
    const retryAfterMs = this.limiter.take(provisionKey);
    if (retryAfterMs > 0) return { answer: { status: 'RATE_LIMITED', retryAfterMs }, event: 'rate-limited', provisionKey };
    const profile = this.profiles.get(provisionKey);
    // an unknown key is checked against a dummy hash: the same work and time as a wrong secret
    const secretOk = await verifyToken(request.provisionSecret, profile?.secretHash);
    if (!profile || !secretOk) return this.refuse(profile ? 'wrong-secret' : 'unknown-key', provisionKey, request.deviceName);
    const deviceId = request.deviceName;
    try {
      return await this.perDevice.run(deviceId, () => this.enrol(deviceId, profile, request.attributes, provisionKey));
    } catch (err) {
      return { answer: { status: 'UNAVAILABLE' }, event: 'failed', deviceId, provisionKey, error: err };
    }
  }

  private async enrol(
    deviceId: string,
    profile: KeptProfile,
    attributes: Record<string, unknown> | undefined,
    provisionKey: string,
  ): Promise<ProvisionOutcome> {
    const registry = this.options.registry;
    await registry.ready();
    const existing = registry.get(deviceId);
    if (this.options.policy === 'allow-create' && existing) return this.refuse('device-exists', provisionKey, deviceId);
    if (this.options.policy === 'pre-provisioned') {
      if (!existing) return this.refuse('device-not-found', provisionKey, deviceId);
      if (existing.type !== profile.deviceType) return this.refuse('wrong-type', provisionKey, deviceId);
      if (registry.hasCredential(deviceId)) return this.refuse('has-credential', provisionKey, deviceId);
    }
    let result;
    try {
      result = existing
        ? await registry.register({ id: deviceId, attributes: attributes && { ...existing.attributes, ...attributes } }, { upsert: true, issueToken: true })
        : await registry.register({ id: deviceId, name: deviceId, type: profile.deviceType || undefined, attributes }, { issueToken: true });
    } catch (err) {
      // registered meanwhile by another instance sharing the store: a replay as far as this request goes
      if (err instanceof M2MError && (err.code === 'DEVICE_EXISTS' || err.code === 'VERSION_CONFLICT'))
        return this.refuse('device-exists', provisionKey, deviceId);
      if (err instanceof M2MError && (err.code === 'SCHEMA_VALIDATION' || err.code === 'INVALID_FIELD' || err.code === 'HOSTILE_KEY')) {
        return { answer: { status: 'BAD_REQUEST', error: err.message, field: 'attributes' }, event: 'bad-request', deviceId, provisionKey };
      }
      throw err;
    }
    return {
      answer: { status: 'SUCCESS', deviceId, credentialsType: 'ACCESS_TOKEN', credentialsValue: result.token as string },
      event: 'provisioned',
      deviceId,
      provisionKey,
    };
  }

  private refuse(reason: NonNullable<ProvisionOutcome['reason']>, provisionKey: string, deviceId: string): ProvisionOutcome {
    return { answer: NOT_AUTHORIZED, event: 'refused', reason, provisionKey, deviceId };
  }
}
