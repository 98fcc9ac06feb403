import type { DecodeOutput } from './decoder';

// Turns one decode result into Node-RED messages: the incoming msg carries the first record (keeping its
// other properties); each further record goes in a clone of it. msg.topic is left as it came.

export interface MessageLike {
  payload?: unknown;
  [key: string]: unknown;
}

export function telemetryMessages<M extends MessageLike>(msg: M, output: DecodeOutput, clone: (m: M) => M): M[] {
  const records = output.records;
  const messages: M[] = new Array<M>(records.length);
  if (records.length > 1) {
    const original = msg.payload;
    msg.payload = undefined; // the raw payload is not copied into every clone
    for (let i = 1; i < records.length; i++) messages[i] = clone(msg);
    msg.payload = original;
  }
  messages[0] = msg;
  for (let i = 0; i < records.length; i++) {
    const m = messages[i] as MessageLike;
    const record = records[i];
    m.deviceId = record.deviceId;
    m.payload = record.payload;
    m.timestamp = record.timestamp;
    if (record.units !== undefined && hasKeys(record.units)) m.units = record.units;
    else if (m.units !== undefined) delete m.units;
    if (output.sparkplug) m.sparkplug = output.sparkplug;
    if (output.lorawan) m.lorawan = output.lorawan;
  }
  return records.length === 0 ? [] : messages;
}

function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}
