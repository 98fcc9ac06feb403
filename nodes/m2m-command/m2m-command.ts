import {
  CommandTracker,
  MemoryCommandStore,
  checkTemplate,
  isReply,
  templatePattern,
  type CommandStore,
  type StatusEvent,
  type TrackerCounts,
  type TransportMessage,
} from '../../lib/command';
import { errorMessage } from '../../lib/errors';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { onInput, rejectAllInput } from '../shared/adapter';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from '../shared/node-red';
import { optionalRegistry, startedFor } from '../shared/registry-lookup';
import { ThrottledStatus } from '../shared/throttled-status';
import { installAdminApi, listCommands } from '../shared/admin-sources';
import { COMMAND_CONFIG, type CommandConfig } from './config';
import { SparkplugRoute, isSparkplugTopic } from '../m2m-sparkplug-host/command-transport';
import { M2MError } from '../../lib/errors';

// The badge is refreshed at most this often, so a burst of commands does not flood the editor.
const STATUS_EVERY_MS = 500;

function badge(c: TrackerCounts): NodeStatus {
  const ignored = c.late + c.unknown;
  const parts = [`${c.pending} pending`];
  if (c.queued > 0) parts.push(`${c.queued} queued`);
  parts.push(`${c.succeeded} ok`);
  const troubles = c.failed + c.timeout + c.expired + c.rejected;
  if (troubles > 0) parts.push(`${troubles} not ok`);
  if (ignored > 0) parts.push(`${ignored} ignored`);
  if (c.foreign > 0) parts.push(`${c.foreign} foreign`);
  if (c.anonymous > 0) parts.push(`${c.anonymous} without device`);
  return { fill: c.queued > 0 ? 'yellow' : c.pending > 0 ? 'blue' : 'green', shape: c.pending + c.queued > 0 ? 'ring' : 'dot', text: parts.join(' · ') };
}

const FINAL_STATUSES = new Set<StatusEvent['status']>(['succeeded', 'failed', 'timeout', 'expired', 'rejected', 'canceled']);

/** A status event; it carries the properties of the message that submitted the command, while this node has it. */
function statusMessage(event: StatusEvent, origin: NodeMessage | undefined): NodeMessage {
  return {
    ...origin,
    topic: `${event.deviceId}/${event.command}`,
    deviceId: event.deviceId,
    command: event.command,
    commandId: event.id,
    status: event.status,
    payload: event,
  };
}

export = function (RED: NodeAPI): void {
  installAdminApi(RED);
  RED.nodes.registerType('m2m-command', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let def: CommandConfig;
    let commandTopic: string;
    let replyTopic: string;
    try {
      def = COMMAND_CONFIG.read(config);
      commandTopic = checkTemplate(def.topic, 'topic');
      replyTopic = checkTemplate(def.replyTopic, 'replyTopic');
      if (def.transport === 'mqtt' && isSparkplugTopic(commandTopic)) {
        throw new M2MError('INVALID_CONFIG', 'a JSON command on a Sparkplug topic cannot be decoded by the edge node: choose the Sparkplug transport', {
          field: 'topic',
        });
      }
    } catch (err) {
      rejectAllInput(node, err);
      return;
    }

    let tracker: CommandTracker | undefined;
    let registry: DeviceRegistryApi | undefined;
    let closed = false;
    // The messages that submitted pending commands (kept in memory only), so that status events can carry
    // e.g. msg.req/msg.res of an `http in` on to an `http response`.
    const origins = new Map<string, NodeMessage>();
    let submitting: NodeMessage | undefined;
    const status = new ThrottledStatus(node, () => tracker && badge(tracker.counts()), STATUS_EVERY_MS);
    // the Sparkplug transport: the same tracker, its commands written as NCMD/DCMD through an m2m-sparkplug-host
    const sparkplug = def.transport === 'sparkplug' ? new SparkplugRoute(RED, def.sparkplugHost) : undefined;
    // the admin API and the editor's sidebar list pending and queued commands and can cancel them
    const listing = listCommands(node, typeof def.registry === 'string' && def.registry !== '' ? def.registry : undefined, () => tracker);

    const starting = (async (): Promise<CommandTracker> => {
      registry = optionalRegistry(RED, def.registry);
      let store: CommandStore;
      if (registry) {
        // waits for a store that is still unreachable (Redis starting after Node-RED) instead of failing for good
        await registry.whenLoaded();
        store = await registry.state(`command:${node.id}`);
      } else {
        store = new MemoryCommandStore(node.id);
      }
      if (closed) throw new Error('closed before it started');
      tracker = new CommandTracker({
        commandTopic,
        replyTopic,
        mqtt5: def.mqtt5,
        defaults: { timeoutMs: def.timeout * 1000, retries: def.retries, ttlMs: def.ttl * 1000 },
        backoffMs: def.backoff * 1000,
        queueLimit: def.queueSize,
        registry,
        store,
        onCommand: (message: TransportMessage) => {
          if (sparkplug) return sparkplug.send(message);
          // a device id filled into the first level could still make a Sparkplug topic: JSON must never go there
          if (isSparkplugTopic(message.topic))
            node.error(
              new M2MError('INVALID_CONFIG', `command ${message.commandId} not sent: ${message.topic} is a Sparkplug topic; use the Sparkplug transport`, {
                field: 'topic',
              }),
            );
          else node.send([message as unknown as NodeMessage, null]);
        },
        onStatus: (event) => {
          let origin = origins.get(event.id);
          if (!origin && submitting) origins.set(event.id, (origin = submitting));
          sparkplug?.status(event);
          node.send([null, statusMessage(event, origin && RED.util.cloneMessage(origin))]);
          if (FINAL_STATUSES.has(event.status)) origins.delete(event.id);
          status.schedule();
          listing.changed();
        },
        onStoreError: (err) => node.error(`storing command state: ${errorMessage(err)}`),
        onWarning: (message) => node.warn(message),
      });
      sparkplug?.attach(tracker);
      status.show();
      return tracker;
    })();
    const replyPattern = templatePattern(replyTopic);
    starting.catch((err: unknown) => {
      if (closed) return;
      node.error(`m2m-command could not start: ${errorMessage(err)}`);
      node.status({ fill: 'red', shape: 'ring', text: 'not started' });
    });

    const handle = (t: CommandTracker, msg: NodeMessage): void => {
      if (isReply(msg, replyPattern)) {
        t.reply({ topic: msg.topic, payload: msg.payload, correlationData: msg.correlationData, deviceId: msg.deviceId });
        status.schedule();
        return;
      }
      sparkplug?.check(msg, registry !== undefined);
      submitting = msg;
      let result;
      try {
        result = t.submit({
          deviceId: msg.deviceId,
          command: msg.command,
          params: msg.payload,
          timeout: msg.timeout,
          retries: msg.retries,
          ttl: msg.ttl,
          commandId: msg.commandId,
          resume: msg.resume,
        });
      } finally {
        submitting = undefined;
      }
      if (result.error) throw result.error; // the rejected status event is out; done(err) for Catch nodes
    };

    // Until the store has loaded, a message fails at once with STORE_UNAVAILABLE while it is unreachable, rather than waiting.
    onInput(node, (msg) => (tracker ? handle(tracker, msg) : startedFor(registry, starting).then((t) => handle(t, msg))));

    node.on('close', (removed, done) => {
      closed = true;
      sparkplug?.close();
      listing.remove();
      origins.clear();
      status.stop();
      const finish = (): void => done();
      if (!tracker) {
        if (removed && !registry) MemoryCommandStore.forget(node.id);
        finish();
        return;
      }
      if (!removed) {
        tracker.close();
        finish();
      } else if (registry) {
        tracker
          .discard()
          .catch((err: unknown) => node.error(`removing command state: ${errorMessage(err)}`))
          .finally(finish);
      } else {
        tracker.close();
        MemoryCommandStore.forget(node.id);
        finish();
      }
    });
  });
};
