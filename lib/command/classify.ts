import { isPlainObject } from '../safe';

export interface IncomingLike {
  topic?: unknown;
  payload?: unknown;
  command?: unknown;
  correlationData?: unknown;
}

/**
 * Replies and commands arrive on the same input. A message is a reply when it carries MQTT 5 correlation data,
 * arrives on a reply topic, or has no `msg.command` and a payload of the form `{ id, status }`.
 */
export function isReply(msg: IncomingLike, replyTopic: RegExp): boolean {
  const correlated = msg.correlationData !== undefined && msg.correlationData !== null;
  if (typeof msg.command === 'string' && msg.command !== '' && !correlated) return false;
  if (correlated) return true;
  if (typeof msg.topic === 'string' && replyTopic.test(msg.topic)) return true;
  return isPlainObject(msg.payload) && 'id' in msg.payload && 'status' in msg.payload;
}
