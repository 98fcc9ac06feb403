import { M2MError, errorMessage } from '../../lib/errors';
import type { DoneFunction, Node, NodeMessage, SendFunction } from './node-red';

export type InputHandler = (msg: NodeMessage, send: SendFunction) => void | Promise<void>;

/**
 * Wires a node's input through one error path: any throw or rejection sets a red status with the reason and
 * calls done(err) so a Catch node sees it; the flow keeps running. Node-RED rebuilds msg.error for the Catch
 * node and keeps only `message`, `source` and `code`, so the offending field and details also travel in
 * msg.m2mError.
 */
export function onInput(node: Node, handler: InputHandler): void {
  node.on('input', (msg, send, done) => {
    const fail = (err: unknown): void => reportError(node, msg, err, done);
    try {
      const result = handler(msg, send);
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
