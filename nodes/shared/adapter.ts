import { M2MError, errorMessage } from '../../lib/errors';
import { oversizedProperty } from '../../lib/depth';
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
    const finish = (): void => completeQuietly(node, done);
    try {
      const oversized = oversizedProperty(msg, COPIED_BY_REFERENCE);
      if (oversized) {
        // Node-RED deep-copies msg for a Catch node, recursively: without this property the copy cannot overflow
        delete msg[oversized.field as string];
        fail(oversized);
        return;
      }
      const key = orderBy(msg);
      const result = key === undefined ? handler(msg, send) : inFlight.run(key, () => handler(msg, send));
      if (result && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(finish, fail); // neither can throw, so no rejection is left unhandled
      } else {
        finish();
      }
    } catch (err) {
      fail(err);
    }
  });
}

/** Properties Node-RED's cloneMessage passes on by reference (http in's request and response); never walked. */
const COPIED_BY_REFERENCE: ReadonlySet<string> = new Set(['req', 'res']);

/**
 * Cannot throw: when describing the error fails, a plain error goes instead; when Node-RED cannot copy msg for
 * a Catch node (it recurses over msg), the Catch node gets the error on a small message with the same id,
 * req and res and m2mError without details; when even that fails, the error is logged.
 */
export function reportError(node: Node, msg: NodeMessage, err: unknown, done: DoneFunction): void {
  const { req, res } = msg;
  let error: Error;
  try {
    error = withCode(err);
    if (error instanceof M2MError) {
      msg.m2mError = { message: error.message, code: error.code, field: error.field, details: error.details };
    }
    node.status({ fill: 'red', shape: 'ring', text: truncate(String(error.message), 40) });
  } catch {
    error = new Error(`${node.type} failed with an error that cannot be described`);
  }
  try {
    done(error);
  } catch (copyFailure) {
    // cloneMessage took req and res off msg before it threw
    if (req !== undefined) msg.req = req;
    if (res !== undefined) msg.res = res;
    const small: NodeMessage = { _msgid: msg._msgid, req, res };
    if (error instanceof M2MError) small.m2mError = { message: error.message, code: error.code, field: error.field };
    try {
      node.error(error, small);
    } catch {
      logQuietly(node, `${describe(error)} (not passed to Catch nodes: ${describe(copyFailure)})`);
    }
  }
}

/**
 * Catch flows switch on msg.error.code, so every error carries one: an M2MError or a system error (ENOSPC...)
 * keeps its own; anything else (a TypeError, a thrown string) becomes INTERNAL_ERROR with the same message.
 */
function withCode(err: unknown): Error {
  if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string') return err;
  return new M2MError('INTERNAL_ERROR', errorMessage(err), { cause: err });
}

/** done() for a message handled well; Node-RED copies msg for Complete nodes, which must not throw either. */
function completeQuietly(node: Node, done: DoneFunction): void {
  try {
    done();
  } catch (err) {
    logQuietly(node, `could not pass the message to Complete nodes: ${describe(err)}`);
  }
}

function logQuietly(node: Node, text: string): void {
  try {
    node.error(text);
  } catch {
    // nowhere left to report to; the flow keeps running
  }
}

function describe(err: unknown): string {
  try {
    return errorMessage(err);
  } catch {
    return 'an error that cannot be described';
  }
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
