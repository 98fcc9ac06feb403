import type { CommandTracker } from '../../lib/command';
import type { StatusEvent, TransportMessage } from '../../lib/command/types';
import { M2MError, errorMessage } from '../../lib/errors';
import { checkDeviceId } from '../../lib/ids';
import { WriteConfirmations } from '../../lib/sparkplug/confirm';
import { onHostEvents, sparkplugTransportOf, type SparkplugTransport } from '../../lib/sparkplug/transport';
import type { NodeAPI, NodeMessage } from '../shared/node-red';

// m2m-command's Sparkplug transport: a command becomes an NCMD/DCMD written on an m2m-sparkplug-host's session
// (protobuf, metrics by name with the birth's alias and datatype), never a JSON message on output 1.

/** A command topic template that makes Sparkplug topics would publish JSON where edge clients expect protobuf. */
export function isSparkplugTopic(topic: string): boolean {
  return topic.startsWith('spBv1.0/');
}

const FINAL = new Set<StatusEvent['status']>(['succeeded', 'failed', 'timeout', 'expired', 'rejected', 'canceled']);

/**
 * m2m-command's tracker with the Sparkplug transport: the tracker queues, persists, retries, checks the device
 * type's schema and times out as with MQTT; this sends what it sends as an NCMD/DCMD (QoS 0) through the host node,
 * and ends a sent command when its written value comes back in the host's next data or birth (or it dies).
 */
export class SparkplugRoute {
  private readonly confirmations = new WriteConfirmations();
  private readonly unsubscribe: () => void;
  private tracker: CommandTracker | undefined;

  constructor(
    private readonly RED: NodeAPI,
    private readonly hostId: string,
  ) {
    this.unsubscribe = onHostEvents(hostId, (events) => {
      const tracker = this.tracker;
      if (!tracker) return;
      for (const outcome of this.confirmations.observe(events)) tracker.settle(outcome.id, outcome.status, outcome.response, outcome.error);
    });
  }

  /** The tracker started: the writes it restored as sent (before a redeploy) are watched again. */
  attach(tracker: CommandTracker): void {
    this.tracker = tracker;
    for (const record of tracker.inProgress()) if (record.phase !== 'queued') this.confirmations.watch(record);
  }

  /** Refuses at input what cannot be sent to an online device (no metric of that name, a value of the wrong type); an offline one is left to the tracker (queued with a registry). */
  check(msg: NodeMessage, canQueue: boolean): void {
    const transport = this.transport();
    const deviceId = checkDeviceId(msg.deviceId, 'deviceId');
    const request = { deviceId, command: typeof msg.command === 'string' ? msg.command : '', params: msg.payload };
    try {
      transport.check(request);
    } catch (err) {
      if (canQueue && err instanceof M2MError && err.code === 'DEVICE_NOT_FOUND') return;
      throw err;
    }
  }

  /** The tracker's onCommand: publishes the write; one that cannot be sent now fails (after its `sent`). */
  send(message: TransportMessage): void {
    const params = (message.payload as { params?: unknown }).params;
    const write = { id: message.commandId, deviceId: message.deviceId, command: message.command, params };
    this.confirmations.watch(write);
    try {
      this.transport().send(write);
    } catch (err) {
      this.confirmations.forget(write.id, write.deviceId);
      // the tracker reports `sent` right after onCommand returns: the failure follows it
      queueMicrotask(() => this.tracker?.settle(write.id, 'failed', null, errorMessage(err)));
    }
  }

  /** The tracker's status events: an ended command is no longer watched. */
  status(event: StatusEvent): void {
    if (FINAL.has(event.status)) this.confirmations.forget(event.id, event.deviceId);
  }

  close(): void {
    this.unsubscribe();
    this.tracker = undefined;
  }

  private transport(): SparkplugTransport {
    const transport = sparkplugTransportOf(this.RED.nodes.getNode(this.hostId));
    if (!transport)
      throw new M2MError('NODE_NOT_FOUND', `the Sparkplug transport needs a deployed m2m-sparkplug-host (node ${this.hostId || 'not chosen'})`, {
        field: 'sparkplugHost',
      });
    return transport;
  }
}
