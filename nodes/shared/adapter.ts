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
  // The per-message path allocates nothing of its own: no closure, promise or array unless the handler returns a
  // promise or an earlier message of the same key is still in flight.
  node.on('input', (msg, send, done) => {
    let result: void | Promise<void>;
    try {
      if (!withinQuickLimits(msg)) {
        const oversized = oversizedProperty(msg, COPIED_BY_REFERENCE);
        if (oversized) {
          // Node-RED deep-copies msg for a Catch node, recursively: without this property the copy cannot overflow
          delete msg[oversized.field as string];
          reportError(node, msg, oversized, done);
          return;
        }
      }
      const key = orderBy(msg);
      if (key === undefined) {
        result = handler(msg, send);
      } else if (inFlight.idle(key)) {
        result = handler(msg, send);
        if (isPromise(result)) result = inFlight.hold(key, result);
      } else {
        result = inFlight.run(key, () => handler(msg, send));
      }
    } catch (err) {
      reportError(node, msg, err, done);
      return;
    }
    if (isPromise(result)) {
      // neither can throw, so no rejection is left unhandled
      result.then(
        () => completeQuietly(node, done),
        (err: unknown) => reportError(node, msg, err, done),
      );
    } else {
      completeQuietly(node, done);
    }
  });
}

function isPromise(value: unknown): value is Promise<void> {
  return value !== undefined && value !== null && typeof (value as Promise<void>).then === 'function';
}

/** Nesting below which, and containers up to which, withinQuickLimits answers without the full measure. */
const QUICK_DEPTH = 16;
const QUICK_CONTAINERS = 10_000;

/**
 * True when every property of msg (but req and res) is plainly within the shape limits: plain objects and
 * arrays nested at most QUICK_DEPTH deep and holding at most QUICK_CONTAINERS of them, counted per reference,
 * both well below the limits. False means "not sure" (deeper, larger, a Map, a cycle...): the exact, slower
 * measure decides. A bounded recursion, so nothing can overflow the stack, and no allocation.
 */
function withinQuickLimits(msg: NodeMessage): boolean {
  containersLeft = QUICK_CONTAINERS;
  for (const key in msg) {
    if (COPIED_BY_REFERENCE.has(key) || !Object.prototype.hasOwnProperty.call(msg, key)) continue;
    if (!plainWithin(msg[key], QUICK_DEPTH)) return false;
  }
  return true;
}

// withinQuickLimits runs synchronously to its end, so one counter serves every call
let containersLeft = 0;

function plainWithin(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return true;
  if (depth === 0 || --containersLeft < 0) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!plainWithin(value[i], depth - 1)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) {
    if (!plainWithin((value as Record<string, unknown>)[key], depth - 1)) return false;
  }
  return true;
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
