import { M2MError, errorMessage } from '../../lib/errors';
import { KeyedQueue } from '../../lib/keyed-queue';
import type { DoneFunction, Node, NodeMessage, SendFunction } from './node-red';

export type InputHandler = (msg: NodeMessage, send: SendFunction) => void | Promise<void>;

export interface InputOptions {
  /**
   * Messages with the same key leave the node in the order they arrived: a message whose handler would finish
   * early waits for the earlier ones of its key. Messages without a key, or of other keys, do not wait.
   * Default: msg.deviceId.
   */
  orderBy?: (msg: NodeMessage) => string | undefined;
}

/** The default order key: the device a message belongs to. */
export function deviceIdOf(msg: NodeMessage): string | undefined {
  return typeof msg.deviceId === 'string' ? msg.deviceId : undefined;
}

/**
 * Wires a node's input through one error path: any throw or rejection sets a red status with the reason and
 * calls done(err) so a Catch node sees it; the flow keeps running. Node-RED rebuilds msg.error for the Catch
 * node and keeps only `message`, `source` and `code`, so the offending field and details also travel in
 * msg.m2mError.
 */
export function onInput(node: Node, handler: InputHandler, options: InputOptions = {}): void {
  const orderBy = options.orderBy ?? deviceIdOf;
  const inFlight = new KeyedQueue();
  node.on('input', (msg, send, done) => {
    const fail = (err: unknown): void => reportError(node, msg, err, done);
    try {
      const key = orderBy(msg);
      const result = key === undefined ? handler(msg, send) : inFlight.run(key, () => handler(msg, send));
      if (result && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(() => done(), fail);
      } else {
        done();
      }
    } catch (err) {
      fail(err);
    }
  });
}

export function reportError(node: Node, msg: NodeMessage, err: unknown, done: DoneFunction): void {
  const error = err instanceof Error ? err : new Error(errorMessage(err));
  if (error instanceof M2MError) {
    msg.m2mError = { message: error.message, code: error.code, field: error.field, details: error.details };
  }
  node.status({ fill: 'red', shape: 'ring', text: truncate(error.message, 40) });
  done(error);
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * For a node whose configuration cannot be used: logs why, shows a red badge, and fails every message
 * with the same error, so a Catch node sees each one and the rest of the flow keeps running.
 */
export function rejectAllInput(node: Node, err: unknown, badge = 'invalid config'): void {
  node.error(`${node.type} is not configured correctly: ${errorMessage(err)}`);
  node.status({ fill: 'red', shape: 'ring', text: badge });
  onInput(node, () => {
    throw err;
  });
}
