import { timingSafeEqual } from 'crypto';
import { M2MError, errorMessage } from '../errors';
import { assertValid } from '../schema';
import { checkCommandDeviceId, checkCommandId, checkCommandName, checkCommandOptions, checkParams, type CommandOptions } from './input';
import { COMMAND_RECORD_VERSION, randomToken, readCommandRecord } from './record';
import { KeptOutcomes } from './outcomes';
import { correlationData, parseReply, type ParsedReply } from './reply';
import { compileTemplate, templatePattern, type TopicFiller } from './topics';
import { SleepyDevices } from './sleepy';
import type {
  CommandInput,
  CommandRecord,
  CommandRegistry,
  CommandStatus,
  CommandStore,
  DeviceEventLike,
  ReplyInput,
  StatusEvent,
  TransportMessage,
} from './types';

export interface TrackerOptions {
  /** Default `devices/{deviceId}/commands/{command}`. */
  commandTopic?: string;
  /** Where devices answer; default `devices/{deviceId}/replies`. */
  replyTopic?: string;
  /** Set MQTT 5 `responseTopic` and `correlationData` on each command (harmless on 3.1.1). Default true. */
  mqtt5?: boolean;
  /** Defaults for commands that do not say: timeout 10 s, no retries, no time to live. */
  defaults?: Partial<CommandOptions>;
  /** First retry waits this long, each next one twice as long, up to maxBackoffMs. Default 1 s, 60 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Commands queued per offline device; a new command beyond it is rejected. Default 50. */
  queueLimit?: number;
  /** With a registry: offline queueing, device types' command schemas, devices must be registered. */
  registry?: CommandRegistry;
  store: CommandStore;
  onCommand(message: TransportMessage): void;
  onStatus(event: StatusEvent): void;
  /** A persisted write failed; the command goes on in memory. */
  onStoreError?(err: unknown): void;
  /** Something the user should know that is not an error of one message: stored records kept aside, replies refused. */
  onWarning?(message: string): void;
  /** How many ended command ids are remembered to tell a late reply from an unknown one. Default 10,000. */
  rememberEnded?: number;
  /** How long a final outcome is kept in the store for a resubmission of the same id (ms). Default 24 h; 0: not kept. */
  keepOutcomesMs?: number;
}

export interface SubmitResult {
  id: string;
  /** `ended`: the same command had already ended; its final status event was sent again. */
  status: 'queued' | 'sent' | 'rejected' | 'ended';
  /** Why the command was rejected. */
  error?: M2MError;
}

/**
 * `foreign`: the reply names another device than the one the command went to (reply topic, `msg.deviceId`) or
 * carries a wrong token. `anonymous`: nothing in it says which device sent it. Neither changes anything.
 */
/** A command in progress as the admin API lists it (no reply token). */
export interface PendingInfo {
  id: string;
  deviceId: string;
  command: string;
  params: unknown;
  phase: CommandRecord['phase'];
  attempts: number;
  createdAt: number;
  expiresAt: number;
}

export type ReplyOutcome = 'matched' | 'late' | 'unknown' | 'foreign' | 'anonymous';

export interface TrackerCounts {
  pending: number;
  queued: number;
  succeeded: number;
  failed: number;
  timeout: number;
  expired: number;
  rejected: number;
  /** Replies for commands that had already ended (duplicates, answers after a timeout). */
  late: number;
  /** Replies with an id this node never issued or has forgotten. */
  unknown: number;
  /** Replies from another device than the one the command went to. */
  foreign: number;
  /** Replies to a pending command that carry no device identity at all, refused. */
  anonymous: number;
}

type EndStatus = Exclude<CommandStatus, 'queued' | 'sent'>;

const DEFAULTS: CommandOptions = { timeoutMs: 10_000, retries: 0, ttlMs: 0 };

/**
 * Tracks commands from input to their one final status: sends them, matches replies by id, times out and
 * retries with backoff, expires them after their time to live, and queues them per device while the device is
 * offline. Every change is written to the store, so a restarted tracker resumes the same commands.
 */
export class CommandTracker {
  private readonly active = new Map<string, CommandRecord>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly queues = new Map<string, CommandRecord[]>();
  /** Ended commands' devices by id, to tell a late reply from an unknown or a foreign one. */
  private readonly ended = new Map<string, string>();
  /** Stored keys whose records this version could not read: left in the store, never reused. */
  private readonly keptAside = new Set<string>();
  private readonly replyPattern: RegExp;
  private readonly commandTopic: TopicFiller;
  private readonly replyTopic: TopicFiller;
  private readonly mqtt5: boolean;
  private readonly defaults: CommandOptions;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly queueLimit: number;
  private readonly rememberEnded: number;
  private readonly registry: CommandRegistry | undefined;
  private readonly store: CommandStore;
  private readonly sleepy: SleepyDevices;
  private readonly outcomes: KeptOutcomes;
  private seq = 0;
  private queuedCount = 0;
  private closed = false;
  private warnedAnonymous = false;
  private readonly totals = { succeeded: 0, failed: 0, timeout: 0, expired: 0, rejected: 0, late: 0, unknown: 0, foreign: 0, anonymous: 0 };

  constructor(private readonly options: TrackerOptions) {
    this.commandTopic = compileTemplate(options.commandTopic ?? 'devices/{deviceId}/commands/{command}');
    this.replyTopic = compileTemplate(options.replyTopic ?? 'devices/{deviceId}/replies');
    this.replyPattern = templatePattern(options.replyTopic ?? 'devices/{deviceId}/replies');
    this.mqtt5 = options.mqtt5 !== false;
    this.defaults = { ...DEFAULTS, ...options.defaults };
    this.backoffMs = options.backoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.queueLimit = options.queueLimit ?? 50;
    this.rememberEnded = options.rememberEnded ?? 10_000;
    this.registry = options.registry;
    this.store = options.store;
    this.sleepy = new SleepyDevices(options.registry);
    this.outcomes = new KeptOutcomes(this.store, options.keepOutcomesMs ?? 24 * 3600_000, this.rememberEnded);
    this.restore(); // first: it may refuse the store, and then nothing may be left listening
    this.registry?.on('device', this.onDeviceEvent);
    this.sleepy.watch((deviceId) => this.flush(deviceId)); // a sleepy device listens right after each uplink
  }

  counts(): TrackerCounts {
    return { pending: this.active.size - this.queuedCount, queued: this.queuedCount, ...this.totals };
  }

  /** The commands that have not ended, oldest first: sent and waiting for a reply or a retry, or queued. */
  inProgress(): PendingInfo[] {
    return [...this.active.values()]
      .sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq)
      .map((r) => ({
        id: r.id,
        deviceId: r.deviceId,
        command: r.command,
        params: r.params,
        phase: r.phase,
        attempts: r.attempts,
        createdAt: r.createdAt,
        expiresAt: r.expiresAt,
      }));
  }

  /**
   * Ends a pending or queued command with a `canceled` status event: it is not sent (again), and a reply that
   * still comes counts as late. Undefined when the command is not in progress.
   */
  cancel(id: string, reason: string): StatusEvent | undefined {
    const record = this.active.get(id);
    return record && this.end(record, 'canceled', null, reason);
  }

  /**
   * Ends a sent command whose outcome its transport learned itself, not by a reply (Sparkplug: the written value
   * came back in the device's data, or the device died). Undefined when it is not in progress or is still queued.
   */
  settle(id: string, status: 'succeeded' | 'failed', response: unknown, error: string | null): StatusEvent | undefined {
    const record = this.active.get(id);
    return record && record.phase !== 'queued' ? this.end(record, status, response, error) : undefined;
  }

  /** Accepts a command: sends it now, queues it for an offline device, or rejects it with a status event. */
  submit(input: CommandInput): SubmitResult {
    if (this.closed) throw new M2MError('CLOSED', 'the command node is closed');
    const deviceId = checkCommandDeviceId(input.deviceId);
    const command = checkCommandName(input.command);
    const options = checkCommandOptions(input, this.defaults);
    const chosenId = checkCommandId(input.commandId);
    const again = chosenId !== undefined && input.resume === true ? this.resubmitted(chosenId, deviceId, command) : undefined;
    if (again) return again;
    if (chosenId !== undefined && this.active.has(chosenId)) {
      throw new M2MError('DUPLICATE_COMMAND', `command ${chosenId} is already in progress`, { field: 'commandId' });
    }
    if (chosenId !== undefined && this.keptAside.has(chosenId)) {
      throw new M2MError('DUPLICATE_COMMAND', `command id ${chosenId} belongs to a stored command record this version could not read; choose another id`, {
        field: 'commandId',
      });
    }
    const params = checkParams(input.params);
    const now = Date.now();
    const seq = ++this.seq;
    const id = chosenId ?? randomToken();
    const ttlMs = options.ttlMs || this.sleepy.maxWaitMs(deviceId);
    const record: CommandRecord = {
      v: COMMAND_RECORD_VERSION,
      id,
      seq,
      deviceId,
      command,
      params,
      createdAt: now,
      expiresAt: ttlMs > 0 ? now + ttlMs : 0,
      timeoutMs: options.timeoutMs,
      retries: options.retries,
      attempts: 0,
      phase: 'sent',
      dueAt: 0,
      queuedReported: false,
      token: randomToken(),
    };
    const refusal = this.refusal(deviceId, command, params);
    if (refusal) return this.reject(record, refusal);
    if (this.mustQueue(deviceId)) {
      if ((this.queues.get(deviceId)?.length ?? 0) >= this.queueLimit) {
        return this.reject(
          record,
          new M2MError('QUEUE_FULL', `device ${deviceId} is offline and already has ${this.queueLimit} commands queued`, { field: 'deviceId' }),
        );
      }
      this.active.set(id, record);
      this.enqueue(record);
      return { id, status: 'queued' };
    }
    this.active.set(id, record);
    this.send(record);
    return { id, status: 'sent' };
  }

  /**
   * Matches a reply to its command, if it comes from the device the command went to. Late, duplicate, unknown,
   * foreign and anonymous replies change nothing and are only counted.
   */
  reply(input: ReplyInput): ReplyOutcome {
    const reply = parseReply(input);
    const claimed = this.claimedDevices(input);
    const record = this.active.get(reply.id);
    const outcome: ReplyOutcome = record ? this.attribute(record, reply, claimed) : this.endedOutcome(reply.id, claimed);
    if (outcome !== 'matched') {
      this.totals[outcome]++;
      if (outcome === 'anonymous') this.warnAnonymous(input.topic);
      return outcome;
    }
    if (record) this.end(record, reply.ok ? 'succeeded' : 'failed', reply.response, reply.error);
    return outcome;
  }

  /** Stops every timer; the commands stay in the store for the next tracker on the same store. */
  close(): void {
    this.closed = true;
    this.registry?.off('device', this.onDeviceEvent);
    this.sleepy.close();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Forgets every command in the store too (the node was deleted, not redeployed). */
  async discard(): Promise<void> {
    this.close();
    await Promise.all(this.store.keys().map((key) => this.store.delete(key)));
  }

  /**
   * A resumed command (`resume: true`, same id, device and command) is not sent again: while in progress it stays as
   * it is; once ended, its kept final outcome is sent again as a status event. Undefined when there is none.
   */
  private resubmitted(id: string, deviceId: string, command: string): SubmitResult | undefined {
    const active = this.active.get(id);
    if (active) return active.deviceId === deviceId && active.command === command ? { id, status: active.phase === 'queued' ? 'queued' : 'sent' } : undefined;
    const outcome = this.outcomes.get(id);
    if (!outcome || outcome.deviceId !== deviceId || outcome.command !== command) return undefined;
    this.options.onStatus(KeptOutcomes.event(outcome));
    return { id, status: 'ended' };
  }

  /**
   * Reads the kept outcomes back (their ids count as ended) and returns the keys left to read as commands. A command
   * record that has a kept outcome ended before a crash cut its delete short: deleted, never resumed.
   */
  private restoreOutcomes(): string[] {
    const keys = this.store.keys().filter((key) => !this.outcomes.restore(key, this.store.get(key)));
    for (const o of this.outcomes.restored()) this.ended.set(o.id, o.deviceId);
    return keys.filter((key) => {
      if (!this.outcomes.get(key)) return true;
      this.store.delete(key).catch(this.storeFailed);
      return false;
    });
  }

  /** The devices a reply says it comes from: the device level of the reply topic, and `msg.deviceId`. */
  private claimedDevices(input: ReplyInput): unknown[] {
    const claimed: unknown[] = [];
    const fromTopic = typeof input.topic === 'string' ? this.replyPattern.exec(input.topic)?.groups?.deviceId : undefined;
    if (fromTopic !== undefined) claimed.push(fromTopic);
    if (input.deviceId !== undefined && input.deviceId !== null && input.deviceId !== '') claimed.push(input.deviceId);
    return claimed;
  }

  /** A reply counts when every device it names is the command's and something names it: a device or the token. */
  private attribute(record: CommandRecord, reply: ParsedReply, claimed: unknown[]): ReplyOutcome {
    if (claimed.some((device) => device !== record.deviceId)) return 'foreign';
    if (reply.token !== undefined) return sameSecret(reply.token, record.token) ? 'matched' : 'foreign';
    return claimed.length > 0 ? 'matched' : 'anonymous';
  }

  private endedOutcome(id: string, claimed: unknown[]): ReplyOutcome {
    const deviceId = this.ended.get(id);
    if (deviceId === undefined) return 'unknown';
    return claimed.some((device) => device !== deviceId) ? 'foreign' : 'late';
  }

  private warnAnonymous(topic: unknown): void {
    if (this.warnedAnonymous) return;
    this.warnedAnonymous = true;
    this.options.onWarning?.(
      `refused a reply on ${typeof topic === 'string' ? topic : '(no topic)'}: nothing says which device sent it. Use a reply topic with {deviceId}, ` +
        'MQTT 5 (the correlation data proves the device), or set msg.deviceId in the flow. (Said once; the badge counts them.)',
    );
  }

  private refusal(deviceId: string, command: string, params: unknown): M2MError | undefined {
    if (!this.registry) return undefined;
    const device = this.registry.get(deviceId);
    if (!device) return new M2MError('DEVICE_NOT_FOUND', `device ${deviceId} is not registered`, { field: 'deviceId' });
    const commands = this.registry.getType(device.type)?.commands;
    if (!commands || Object.keys(commands).length === 0) return undefined;
    const definition = Object.prototype.hasOwnProperty.call(commands, command) ? commands[command] : undefined;
    if (!definition) {
      return new M2MError('UNKNOWN_COMMAND', `device type ${device.type} has no command "${command}"; known: ${Object.keys(commands).join(', ')}`, {
        field: 'command',
      });
    }
    if (definition.paramsSchema !== undefined) {
      try {
        assertValid(definition.paramsSchema, params, `parameters of ${command}`);
      } catch (err) {
        return err instanceof M2MError ? err : new M2MError('SCHEMA_VALIDATION', errorMessage(err), { field: 'payload' });
      }
    }
    return undefined;
  }

  private mustQueue(deviceId: string): boolean {
    return this.registry !== undefined && (!this.registry.isOnline(deviceId) || this.queues.has(deviceId) || this.sleepy.asleep(deviceId));
  }

  private reject(record: CommandRecord, error: M2MError): SubmitResult {
    this.totals.rejected++;
    this.emit(record, 'rejected', null, error.message);
    return { id: record.id, status: 'rejected', error };
  }

  private send(record: CommandRecord): void {
    const now = Date.now();
    record.attempts++;
    record.phase = 'sent';
    record.dueAt = now + record.timeoutMs;
    this.persist(record);
    this.arm(record, record.timeoutMs);
    const message: TransportMessage = {
      topic: this.commandTopic(record),
      payload: { id: record.id, command: record.command, params: record.params, ts: now },
      qos: 1,
      deviceId: record.deviceId,
      command: record.command,
      commandId: record.id,
    };
    if (this.mqtt5) {
      message.responseTopic = this.replyTopic(record);
      message.correlationData = correlationData(record.id, record.token);
      if (record.expiresAt > 0) message.messageExpiryInterval = Math.max(1, Math.ceil((record.expiresAt - now) / 1000));
    }
    this.options.onCommand(message);
    if (record.attempts === 1) this.emit(record, 'sent', null, null);
  }

  private enqueue(record: CommandRecord): void {
    let queue = this.queues.get(record.deviceId);
    if (!queue) this.queues.set(record.deviceId, (queue = []));
    queue.push(record);
    this.queuedCount++;
    record.phase = 'queued';
    record.dueAt = record.expiresAt;
    const report = !record.queuedReported;
    record.queuedReported = true;
    this.persist(record);
    if (record.expiresAt > 0) this.arm(record, record.expiresAt - Date.now());
    if (report) this.emit(record, 'queued', null, null);
  }

  /** Sends a device's queued commands in the order they came, once it is online. */
  private flush(deviceId: string): void {
    const queue = this.queues.get(deviceId);
    if (!queue) return;
    this.queues.delete(deviceId);
    this.queuedCount -= queue.length;
    const now = Date.now();
    for (const record of queue) {
      if (this.active.get(record.id) !== record) continue;
      this.disarm(record.id);
      if (record.expiresAt > 0 && now >= record.expiresAt) this.end(record, 'expired', null, 'time to live ended while the device was offline');
      else this.send(record);
    }
  }

  /** Sends a retry, or queues it when the device has gone offline meanwhile. */
  private dispatch(record: CommandRecord): void {
    if (record.expiresAt > 0 && Date.now() >= record.expiresAt) this.end(record, 'expired', null, 'time to live ended before the next attempt');
    else if (this.mustQueue(record.deviceId)) this.enqueue(record);
    else this.send(record);
  }

  private readonly onDue = (record: CommandRecord): void => {
    this.timers.delete(record.id);
    if (this.active.get(record.id) !== record) return;
    if (record.phase === 'queued') {
      this.end(record, 'expired', null, 'time to live ended while the device was offline');
    } else if (record.phase === 'backoff') {
      this.dispatch(record);
    } else if (record.attempts <= record.retries) {
      const delay = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (record.attempts - 1));
      if (record.expiresAt > 0 && Date.now() + delay >= record.expiresAt) {
        this.end(record, 'expired', null, `no reply within ${record.timeoutMs} ms and the time to live ends before the next attempt`);
        return;
      }
      record.phase = 'backoff';
      record.dueAt = Date.now() + delay;
      this.persist(record);
      this.arm(record, delay);
    } else {
      const tries = record.attempts === 1 ? '' : ` (${record.attempts} attempts)`;
      this.end(record, 'timeout', null, `no reply within ${record.timeoutMs} ms${tries}`);
    }
  };

  private readonly onDeviceEvent = (e: DeviceEventLike): void => {
    if (e.event === 'online') this.flush(e.deviceId);
    else if (e.event === 'removed') this.dropQueue(e.deviceId, `device ${e.deviceId} was removed from the registry`);
  };

  private dropQueue(deviceId: string, reason: string): void {
    const queue = this.queues.get(deviceId);
    if (!queue) return;
    for (const record of [...queue]) this.end(record, 'rejected', null, reason);
  }

  private end(record: CommandRecord, status: EndStatus, response: unknown, error: string | null): StatusEvent {
    this.disarm(record.id);
    this.active.delete(record.id);
    if (record.phase === 'queued') this.unqueue(record);
    this.ended.set(record.id, record.deviceId);
    if (this.ended.size > this.rememberEnded) this.ended.delete(this.ended.keys().next().value as string);
    this.outcomes.keep(record, status, response, error).catch(this.storeFailed);
    // a cancel is someone's decision, not a trouble of the command: not counted on the badge
    if (status !== 'canceled') this.totals[status]++;
    return this.emit(record, status, response, error);
  }

  private unqueue(record: CommandRecord): void {
    const queue = this.queues.get(record.deviceId);
    const index = queue ? queue.indexOf(record) : -1;
    if (!queue || index < 0) return;
    queue.splice(index, 1);
    this.queuedCount--;
    if (queue.length === 0) this.queues.delete(record.deviceId);
  }

  private emit(record: CommandRecord, status: CommandStatus, response: unknown, error: string | null): StatusEvent {
    const ts = Date.now();
    const event: StatusEvent = {
      id: record.id,
      deviceId: record.deviceId,
      command: record.command,
      status,
      attempts: record.attempts,
      response,
      error,
      latencyMs: ts - record.createdAt,
      ts,
    };
    this.options.onStatus(event);
    return event;
  }

  private arm(record: CommandRecord, delayMs: number): void {
    this.disarm(record.id);
    if (this.closed) return;
    this.timers.set(record.id, setTimeout(this.onDue, Math.max(0, delayMs), record));
  }

  private disarm(id: string): void {
    const timer = this.timers.get(id);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(id);
    }
  }

  private persist(record: CommandRecord): void {
    this.store.set(record.id, record).catch(this.storeFailed);
  }

  private readonly storeFailed = (err: unknown): void => {
    this.options.onStoreError?.(err);
  };

  /**
   * Picks up the commands a previous tracker on this store left: same ids, same attempts, timers re-armed. Older
   * records are stepped up and written back; records it cannot read stay in the store, untouched, with a warning.
   */
  private restore(): void {
    const records: CommandRecord[] = [];
    const steppedUp: CommandRecord[] = [];
    const unreadable: string[] = [];
    for (const key of this.restoreOutcomes()) {
      const read = readCommandRecord(key, this.store.get(key));
      if ('unreadable' in read) {
        this.keptAside.add(key);
        unreadable.push(`${key} (${read.unreadable})`);
      } else {
        records.push(read.record);
        if (read.steppedUp) steppedUp.push(read.record);
      }
    }
    if (unreadable.length > 0) {
      const shown = unreadable.slice(0, 5).join(', ') + (unreadable.length > 5 ? `, and ${unreadable.length - 5} more` : '');
      this.options.onWarning?.(`${unreadable.length} stored command record(s) kept aside in the store, not resumed: ${shown}`);
    }
    steppedUp.forEach((record) => this.persist(record));
    records.sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq);
    const now = Date.now();
    for (const record of records) {
      this.active.set(record.id, record);
      this.seq = Math.max(this.seq, record.seq);
      if (record.phase === 'queued') {
        let queue = this.queues.get(record.deviceId);
        if (!queue) this.queues.set(record.deviceId, (queue = []));
        queue.push(record);
        this.queuedCount++;
        if (record.expiresAt > 0) this.arm(record, record.expiresAt - now);
      } else {
        this.arm(record, record.dueAt - now);
      }
    }
    if (this.registry)
      for (const deviceId of [...this.queues.keys()]) if (this.registry.isOnline(deviceId) && !this.sleepy.asleep(deviceId)) this.flush(deviceId);
  }
}

/** Compares secrets in time independent of where they differ. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
