import { randomBytes } from 'crypto';
import type { StatusEvent } from '../../lib/command/types';
import { M2MError } from '../../lib/errors';
import { checkDeviceId } from '../../lib/ids';
import { sparkplugTransportOf } from '../../lib/sparkplug/transport';
import type { NodeAPI, NodeMessage } from '../shared/node-red';

// m2m-command's Sparkplug transport: a command becomes an NCMD/DCMD written on an m2m-sparkplug-host's session
// (protobuf, metrics by name with the birth's alias and datatype), never a JSON message on output 1.

/** Sends one command through the host node `hostId`; its status events (sent, then the outcome) go to onStatus. Throws M2MError for one that cannot be sent. */
export function sendSparkplugCommand(RED: NodeAPI, hostId: string, msg: NodeMessage, defaultTimeoutMs: number, onStatus: (event: StatusEvent) => void): void {
  const transport = sparkplugTransportOf(RED.nodes.getNode(hostId));
  if (!transport) throw new M2MError('NODE_NOT_FOUND', `the Sparkplug transport needs a deployed m2m-sparkplug-host (node ${hostId || 'not chosen'})`, { field: 'sparkplugHost' });
  const deviceId = checkDeviceId(msg.deviceId, 'deviceId');
  if (typeof msg.command !== 'string' || msg.command === '') throw new M2MError('INVALID_COMMAND', 'msg.command must name the command (or the metric to write)', { field: 'command' });
  const id = typeof msg.commandId === 'string' && msg.commandId !== '' ? msg.commandId : randomBytes(16).toString('base64url');
  const timeoutMs = typeof msg.timeout === 'number' && msg.timeout > 0 ? msg.timeout : defaultTimeoutMs;
  transport.write({ id, deviceId, command: msg.command, params: msg.payload, timeoutMs }, onStatus);
}

/** A command topic template that makes Sparkplug topics would publish JSON where edge clients expect protobuf. */
export function isSparkplugTopic(topic: string): boolean {
  return topic.startsWith('spBv1.0/');
}
