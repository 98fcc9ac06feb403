// Runs hostile messages through one node inside a real Node-RED. Every message must end at exactly one of a
// Catch node (with an error code) or a Complete node (handled), with the process up and Object.prototype clean.
import assert from 'assert';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { helper, waitFor, type FlowNode, type NodeModule, type TestNode } from '../helpers/node-red';
import { CrashWatch } from './watch';

export interface HostileCase {
  name: string;
  msg: () => NodeMessage;
  /** The error codes the node may answer with; when left out, handling the message is fine too. */
  codes?: readonly string[];
}

export interface Outcome {
  error?: { message: string; code?: unknown };
  completed: boolean;
  outputs: NodeMessage[];
}

export const TARGET = 'target';

/** The node under test (id `target`), its outputs, a Catch and a Complete node scoped to it. */
export function hostileFlow(target: { type: string; [key: string]: unknown }, extra: FlowNode[] = []): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { wires: [['out1'], ['out2']], ...target, id: TARGET, z: 'f1' },
    { id: 'out1', type: 'helper', z: 'f1' },
    { id: 'out2', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: [TARGET], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'completer', type: 'complete', z: 'f1', scope: [TARGET], uncaught: false, wires: [['completed']] },
    { id: 'completed', type: 'helper', z: 'f1' },
    ...extra,
  ];
}

let serial = 0;

export class HostileRun {
  readonly watch = new CrashWatch();
  private readonly caught = new Map<string, NodeMessage>();
  private readonly completed = new Set<string>();
  private readonly outputs = new Map<string, NodeMessage[]>();

  /** Loads the flow and starts listening; call in `before`. */
  async start(modules: NodeModule[], flow: FlowNode[]): Promise<void> {
    this.watch.install();
    await helper.load(modules, flow);
    helper.getNode('caught').on('input', (msg) => this.caught.set(String(msg._msgid), msg));
    helper.getNode('completed').on('input', (msg) => this.completed.add(String(msg._msgid)));
    for (const id of ['out1', 'out2']) {
      helper.getNode(id).on('input', (msg) => {
        const list = this.outputs.get(String(msg._msgid)) ?? [];
        list.push(msg);
        this.outputs.set(String(msg._msgid), list);
      });
    }
  }

  async stop(): Promise<void> {
    await helper.unload();
    this.watch.remove();
  }

  get target(): TestNode {
    return helper.getNode(TARGET);
  }

  /** Sends one message and waits until the Catch or the Complete node has it. */
  async send(msg: NodeMessage, timeoutMs = 10_000): Promise<Outcome> {
    const id = `hostile-${process.pid}-${++serial}`;
    msg._msgid = id;
    this.target.receive(msg);
    await this.watch.race(waitFor(() => this.caught.has(id) || this.completed.has(id), 'the message to reach the Catch or the Complete node', timeoutMs));
    const caught = this.caught.get(id);
    return { error: caught?.error as Outcome['error'], completed: this.completed.has(id), outputs: this.outputs.get(id) ?? [] };
  }

  /** Sends the case's message and asserts the bars every hostile input must meet. */
  async check(c: HostileCase): Promise<Outcome> {
    const outcome = await this.send(c.msg());
    if (outcome.error) {
      assert.strictEqual(
        typeof outcome.error.code,
        'string',
        `the error reaches the Catch node with a code: ${JSON.stringify(outcome.error.message)?.slice(0, 200)}`,
      );
      assert.notStrictEqual(outcome.error.code, 'INTERNAL_ERROR', `a value the pack did not expect: ${outcome.error.message.slice(0, 200)}`);
      if (c.codes) assert.ok(c.codes.includes(outcome.error.code as string), `code ${String(outcome.error.code)} is one of ${c.codes.join(', ')}`);
    } else if (c.codes) {
      assert.fail(`expected an error (${c.codes.join(', ')}), the message was handled`);
    }
    this.watch.assertClean();
    return outcome;
  }
}

/** One `it` per case, against a flow loaded once for the `describe`. */
export function hostileCases(run: HostileRun, cases: readonly HostileCase[]): void {
  for (const c of cases) it(c.name, () => run.check(c));
}
