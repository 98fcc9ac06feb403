import { randomBytes } from 'crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { CommandTracker, MemoryCommandStore, type CommandStore } from '../../lib/command';
import { JobManager, type ExecutionEvent, type JobProgress, type JobStore } from '../../lib/job';
import { DeviceSimulator, failingFleet, pickFailing, type ReplyRecord } from '../../lib/simulator';

// A job driving m2m-command's tracker, which talks to simulated devices over a real MQTT broker: the same wiring as
// job -> m2m-command -> mqtt out ... mqtt in -> m2m-command -> job, without Node-RED in between.

export interface Fleet {
  ids: readonly string[];
  failing: ReadonlySet<string>;
  manager: JobManager;
  tracker: CommandTracker;
  record: ReplyRecord;
  executions: ExecutionEvent[];
  progress: JobProgress[];
  /** When each command reached a device (ms), in order. */
  received: Array<{ deviceId: string; at: number }>;
  /** When the job handed each command to the tracker. */
  starts: Array<{ deviceId: string; at: number }>;
  untilEnded(jobId: string, timeoutMs: number): Promise<JobProgress>;
  close(): Promise<void>;
}

function connect(url: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, clientId: `m2m-job-${randomBytes(4).toString('hex')}` });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

export async function startFleet(options: {
  url: string;
  devices: number;
  failingShare: number;
  store?: JobStore & CommandStore;
  commandStore?: CommandStore;
}): Promise<Fleet> {
  const prefix = `m2mtest/job-${randomBytes(4).toString('hex')}`;
  const commandTopic = `${prefix}/{deviceId}/commands/{command}`;
  const replyTopic = `${prefix}/{deviceId}/replies`;
  const [flowSide, deviceSide] = await Promise.all([connect(options.url), connect(options.url)]);
  const received: Fleet['received'] = [];
  const starts: Fleet['starts'] = [];
  const executions: ExecutionEvent[] = [];
  const progress: JobProgress[] = [];
  const waiting: Array<() => void> = [];

  let simulator: DeviceSimulator | undefined;
  const provisional = new DeviceSimulator({ devices: options.devices, idPrefix: 'dev-', intervalMs: 0, commandTopic, replyTopic, publish: () => undefined });
  const failing = pickFailing(provisional.ids, options.failingShare, 11);
  const fleet = failingFleet(failing);
  simulator = new DeviceSimulator({
    devices: options.devices,
    idPrefix: 'dev-',
    intervalMs: 0,
    commandTopic,
    replyTopic,
    latencyMs: 2,
    jitterMs: 8,
    seed: 5,
    fails: fleet.fails,
    onReply: fleet.onReply,
    publish: (m) => deviceSide.publish(m.topic, JSON.stringify(m.payload), { qos: 1 }),
  });
  deviceSide.on('message', (topic, payload) => {
    received.push({ deviceId: topic.split('/')[2], at: Date.now() });
    simulator?.command({ topic, payload });
  });
  flowSide.on('message', (topic, payload) => tracker.reply({ topic, payload: JSON.parse(payload.toString()) as unknown }));
  await Promise.all([deviceSide.subscribeAsync(`${prefix}/+/commands/+`, { qos: 1 }), flowSide.subscribeAsync(`${prefix}/+/replies`, { qos: 1 })]);

  const tracker: CommandTracker = new CommandTracker({
    commandTopic,
    replyTopic,
    mqtt5: false,
    store: options.commandStore ?? new MemoryCommandStore(),
    onCommand: (m) => flowSide.publish(m.topic, JSON.stringify(m.payload), { qos: 1 }),
    onStatus: (e) => manager.commandOutcome({ commandId: e.id, deviceId: e.deviceId, status: e.status, error: e.error }),
  });
  const manager: JobManager = new JobManager({
    store: options.store ?? new MemoryCommandStore(),
    progressEveryMs: 250,
    onSend: (request) => {
      if (request.kind !== 'command') return;
      starts.push({ deviceId: request.deviceId, at: Date.now() });
      tracker.submit({
        deviceId: request.deviceId,
        command: request.command,
        params: request.params,
        commandId: request.commandId,
        timeout: request.timeoutMs,
        retries: 0,
      });
    },
    onExecution: (e) => executions.push(e),
    onProgress: (p) => {
      progress.push(p);
      waiting.splice(0).forEach((wake) => wake());
    },
  });

  return {
    ids: provisional.ids,
    failing,
    manager,
    tracker,
    record: fleet.record,
    executions,
    progress,
    received,
    starts,
    untilEnded: (jobId, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`job ${jobId} did not end within ${timeoutMs} ms`)), timeoutMs);
        const check = (): void => {
          const ended = progress.find((p) => p.jobId === jobId && p.state !== 'in-progress' && p.state !== 'paused' && p.counts['in-progress'] === 0);
          if (ended) {
            clearTimeout(timer);
            resolve(ended);
          } else waiting.push(check);
        };
        check();
      }),
    close: async () => {
      await manager.close();
      tracker.close();
      simulator?.close();
      simulator = undefined;
      await Promise.all([flowSide.endAsync(), deviceSide.endAsync()]);
    },
  };
}
