import { MemoryCommandStore } from '../../lib/command';
import { M2MError, errorMessage } from '../../lib/errors';
import { JOB_CONTROLS, JobManager, type ExecutionEvent, type JobProgress, type JobStore, type SendRequest } from '../../lib/job';
import { isPlainObject } from '../../lib/safe';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { onInput, rejectAllInput } from '../shared/adapter';
import { installAdminApi, listJobs } from '../shared/admin-sources';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from '../shared/node-red';
import { optionalRegistry, startedFor } from '../shared/registry-lookup';
import { ThrottledStatus } from '../shared/throttled-status';
import { JOB_CONFIG, type JobConfig } from './config';

const STATUS_EVERY_MS = 500;

function badge(latest: JobProgress | undefined, running: number): NodeStatus {
  if (!latest) return { fill: 'grey', shape: 'ring', text: 'no jobs' };
  const c = latest.counts;
  const done = latest.total - c.queued - c['in-progress'];
  const troubles = c.failed + c['timed-out'] + c.rejected;
  const parts = [`${latest.jobId} ${latest.state}`, `${done}/${latest.total}`, `${c.succeeded} ok`];
  if (troubles > 0) parts.push(`${troubles} not ok`);
  if (latest.state === 'in-progress') parts.push(`${Math.round(latest.startedPerMinute)}/min`);
  if (running > 1) parts.push(`+${running - 1} more`);
  const fill =
    latest.state === 'aborted'
      ? 'red'
      : latest.state === 'paused' || latest.state === 'canceled'
        ? 'yellow'
        : troubles > 0
          ? 'yellow'
          : latest.state === 'completed'
            ? 'green'
            : 'blue';
  return { fill, shape: latest.state === 'in-progress' ? 'ring' : 'dot', text: parts.join(' · ') };
}

/** Output 1: a message for m2m-command, or for m2m-twin (operation desire). */
function requestMessage(request: SendRequest): NodeMessage {
  if (request.kind === 'command') {
    return {
      topic: `job/${request.jobId}/${request.deviceId}`,
      jobId: request.jobId,
      deviceId: request.deviceId,
      command: request.command,
      payload: structuredClone(request.params),
      // the job retries; a command queued for an offline device expires when the attempt times out, never sent late
      commandId: request.commandId,
      timeout: request.timeoutMs,
      retries: 0,
      ttl: request.timeoutMs,
      attempt: request.attempt,
      // after a restart: m2m-command answers with the command's own outcome (same id) and never sends it twice
      ...(request.resume ? { resume: true } : {}),
    };
  }
  return {
    topic: `job/${request.jobId}/${request.deviceId}`,
    jobId: request.jobId,
    deviceId: request.deviceId,
    operation: 'desire',
    payload: structuredClone(request.patch),
    attempt: request.attempt,
  };
}

/** A status event of m2m-command (its output 2), wired back in. */
function commandStatusOf(msg: NodeMessage): { commandId: string; deviceId?: string; status: string; error: string | null } | undefined {
  const p = msg.payload;
  if (!isPlainObject(p) || typeof p.id !== 'string' || typeof p.status !== 'string' || typeof p.command !== 'string') return undefined;
  return {
    commandId: p.id,
    deviceId: typeof p.deviceId === 'string' ? p.deviceId : undefined,
    status: p.status,
    error: typeof p.error === 'string' ? p.error : null,
  };
}

/** A twin from m2m-twin: output 1 (the twin after an operation) or output 2 (delta and synced events). */
function twinOf(msg: NodeMessage): { deviceId: string; deltaEmpty: boolean } | undefined {
  const p = msg.payload;
  if (!isPlainObject(p) || typeof p.deviceId !== 'string' || !isPlainObject(p.delta)) return undefined;
  if (p.event === 'synced') return { deviceId: p.deviceId, deltaEmpty: true };
  if (p.event === 'delta' || typeof msg.operation === 'string') return { deviceId: p.deviceId, deltaEmpty: Object.keys(p.delta).length === 0 };
  return undefined;
}

/** Node-RED's runtime events; `flows:started` follows every deploy, once every node of it exists. */
interface RuntimeEvents {
  on(event: 'flows:started', listener: () => void): void;
  off(event: 'flows:started', listener: () => void): void;
}

export = function (RED: NodeAPI): void {
  installAdminApi(RED);
  RED.nodes.registerType('m2m-job', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let def: JobConfig;
    let registry: DeviceRegistryApi | undefined;
    try {
      def = JOB_CONFIG.read(config);
      registry = optionalRegistry(RED, def.registry);
    } catch (err) {
      rejectAllInput(node, err);
      return;
    }
    let manager: JobManager | undefined;
    let closed = false;
    let latest: JobProgress | undefined;
    const status = new ThrottledStatus(node, () => badge(latest, manager?.summary().running ?? 0), STATUS_EVERY_MS);
    const memoryKey = `job:${node.id}`;
    // the admin API (GET /m2m/jobs) and the editor's M2M sidebar list this node's jobs, updated on each progress
    const listing = listJobs(node, def.registry !== '' ? def.registry : undefined, () => manager);
    // commands in flight at a restart are asked for again once m2m-command exists to answer (nodes start one by one)
    const events = (RED as NodeAPI & { events?: RuntimeEvents }).events;
    let flowsStarted = !events;
    const onFlowsStarted = (): void => {
      events?.off('flows:started', onFlowsStarted);
      flowsStarted = true;
      manager?.resumeRestored();
    };
    events?.on('flows:started', onFlowsStarted);

    const starting = (async (): Promise<JobManager> => {
      let store: JobStore;
      if (registry) {
        await registry.whenLoaded();
        store = await registry.state(memoryKey);
      } else {
        store = new MemoryCommandStore(memoryKey);
      }
      if (closed) throw new Error('closed before it started');
      manager = new JobManager({
        store,
        registry,
        progressEveryMs: def.progressEvery * 1000,
        deferResume: true,
        onSend: (request) => node.send([requestMessage(request), null, null]),
        onExecution: (e: ExecutionEvent) =>
          node.send([null, { topic: `job/${e.jobId}/${e.deviceId}`, jobId: e.jobId, deviceId: e.deviceId, payload: e }, null]),
        onProgress: (p) => {
          latest = p;
          listing.changed();
          node.send([null, null, { topic: `job/${p.jobId}`, jobId: p.jobId, payload: p }]);
          status.schedule();
        },
        onWarning: (text) => node.warn(text),
      });
      status.show();
      listing.changed(); // restored jobs
      if (flowsStarted) queueMicrotask(() => manager?.resumeRestored());
      return manager;
    })();
    starting.catch((err: unknown) => {
      if (closed) return;
      node.error(`m2m-job could not start: ${errorMessage(err)}`);
      node.status({ fill: 'red', shape: 'ring', text: 'not started' });
    });

    /** The node's defaults under the job document's own settings. */
    const withDefaults = (doc: unknown): unknown => {
      if (!isPlainObject(doc)) return doc;
      const rollout = isPlainObject(doc.rollout) ? doc.rollout : {};
      return {
        retries: def.retries,
        timeout: def.timeout * 1000,
        ...doc,
        rollout: { maxInFlight: def.maxInFlight, perMinute: def.perMinute, ...rollout },
      };
    };

    const handle = (m: JobManager, msg: NodeMessage, send: (msgs: Array<NodeMessage | null>) => void): void => {
      const action = msg.action ?? (typeof msg.topic === 'string' && (JOB_CONTROLS as readonly string[]).includes(msg.topic) ? msg.topic : undefined);
      if (action === undefined) {
        const outcome = commandStatusOf(msg);
        if (outcome) {
          m.commandOutcome(outcome);
          return;
        }
        const twin = twinOf(msg);
        if (twin) {
          m.twinOutcome(twin.deviceId, twin.deltaEmpty);
          return;
        }
        throw new M2MError(
          'INVALID_CONTROL',
          'msg.action must be start, pause, resume, cancel, status or delete (or wire in the status events of m2m-command, or m2m-twin)',
          { field: 'action' },
        );
      }
      const jobId = msg.jobId ?? (isPlainObject(msg.payload) && action !== 'start' ? msg.payload.jobId : undefined);
      const result = m.control(action, jobId, action === 'start' ? withDefaults(msg.payload) : msg.payload);
      msg.payload = result;
      if (!Array.isArray(result)) msg.jobId = result.jobId;
      send([null, null, msg]);
      status.schedule();
      if (action === 'delete') listing.changed();
    };

    onInput(node, (msg, send) => (manager ? handle(manager, msg, send) : startedFor(registry, starting).then((m) => handle(m, msg, send))));

    node.on('close', (removed, done) => {
      closed = true;
      events?.off('flows:started', onFlowsStarted);
      listing.remove();
      status.stop();
      const finish = (): void => done();
      if (!manager) {
        if (removed && !registry) MemoryCommandStore.forget(memoryKey);
        finish();
        return;
      }
      const ending = removed ? manager.discard() : manager.close();
      ending
        .catch((err: unknown) => node.error(`closing jobs: ${errorMessage(err)}`))
        .finally(() => {
          if (removed && !registry) MemoryCommandStore.forget(memoryKey);
          finish();
        });
    });
  });
};
