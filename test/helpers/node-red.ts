// A typed wrapper over node-red-node-test-helper, which ships no types.
import type { NodeAPI, NodeMessage } from '../../nodes/shared/node-red';

export type NodeModule = (RED: NodeAPI) => void;

export interface FlowNode {
  id: string;
  type: string;
  wires?: string[][];
  [key: string]: unknown;
}

export interface TestNode {
  id: string;
  on(event: 'input', listener: (msg: NodeMessage) => void): void;
  on(event: 'call:status' | 'call:error' | 'call:warn' | 'call:send' | 'call:log', listener: (call: { args: unknown[] }) => void): void;
  receive(msg: NodeMessage): void;
  [key: string]: unknown;
}

interface RawHelper {
  init(runtimePath: string, settings?: Record<string, unknown>): void;
  /** Rejects when a node module throws or the flow does not start (only when called without a callback). */
  load(modules: NodeModule | NodeModule[], flow: FlowNode[], credentials: Record<string, unknown>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  startServer(cb: () => void): void;
  stopServer(cb: () => void): void;
  settings(s: Record<string, unknown>): void;
  clearFlows(): Promise<void>;
  _RED: NodeAPI;
  _sandbox: { restore(): void };
  _NodePrototype: { send: unknown };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const raw = require('node-red-node-test-helper') as RawHelper;
// M2M_NODE_RED points at another Node-RED runtime (npm run test:nr5 runs the node tests on Node-RED 5).
raw.init(process.env.M2M_NODE_RED ?? require.resolve('node-red'));

export const helper = {
  load(modules: NodeModule | NodeModule[], flow: FlowNode[], credentials: Record<string, unknown> = {}): Promise<void> {
    return raw.load(modules, flow, credentials);
  },
  unload: (): Promise<void> => raw.unload(),
  getNode: (id: string): TestNode => raw.getNode(id),
  settings: (s: Record<string, unknown>): void => raw.settings(s),
  startServer: (): Promise<void> => new Promise((resolve) => raw.startServer(resolve)),
  stopServer: (): Promise<void> => new Promise((resolve) => raw.stopServer(resolve)),
  /**
   * The test helper wraps node methods in sinon spies that record every call; a running Node-RED has none,
   * so benchmarks take them off once the flow is loaded. A wired node keeps its own copy of the spied
   * `send`, made when it was created: pass the ids of the nodes whose sends are measured.
   */
  removeRecordingSpies(nodeIds: string[] = []): void {
    raw._sandbox.restore();
    for (const id of nodeIds) (raw.getNode(id) as unknown as { send: unknown }).send = raw._NodePrototype.send;
  },
};

/** Resolves with the next `count` messages the node receives. */
export function nextMessages(node: TestNode, count = 1): Promise<NodeMessage[]> {
  return new Promise((resolve) => {
    const got: NodeMessage[] = [];
    node.on('input', (msg) => {
      got.push(msg);
      if (got.length === count) resolve(got);
    });
  });
}

/** A core node module of the Node-RED under test, e.g. `common/25-catch.js`. */
export function coreNode(relativePath: string): NodeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`@node-red/nodes/core/${relativePath}`) as NodeModule;
}

export const catchNode = coreNode('common/25-catch.js');

/** Collects every message the node receives from now on. */
export function collect(node: TestNode): NodeMessage[] {
  const got: NodeMessage[] = [];
  node.on('input', (msg) => got.push(msg));
  return got;
}

/** Resolves once `condition` holds, polling; rejects naming `what` after `timeoutMs`. */
export function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      if (condition()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}
