import assert from 'assert';
import { onInput } from '../../nodes/shared/adapter';
import type { DoneFunction, Node, NodeMessage, SendFunction } from '../../nodes/shared/node-red';

// The shared input path: its quick shape check only ever says "fine" for what the exact check accepts, and
// messages of one device still finish in order when a handler answers later.

type Listener = (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void;

/** Just enough of a Node-RED node for onInput: the input listener, and what done() was called with. */
function fakeNode(): { node: Node; input(msg: NodeMessage): Promise<Error | undefined> } {
  let listener: Listener | undefined;
  const node = {
    type: 'm2m-test',
    on: (event: string, fn: Listener) => {
      if (event === 'input') listener = fn;
    },
    status: () => undefined,
    error: () => undefined,
  } as unknown as Node;
  return {
    node,
    input: (msg) =>
      new Promise((resolve) =>
        (listener as Listener)(
          msg,
          () => undefined,
          (err) => resolve(err),
        ),
      ),
  };
}

function nested(levels: number): unknown {
  let value: unknown = { t: 1 };
  for (let i = 1; i < levels; i++) value = { inner: value };
  return value;
}

describe('onInput (nodes/shared/adapter)', () => {
  it('hands on a message whose properties are past the quick check but within the limits', async () => {
    const { node, input } = fakeNode();
    const handled: string[] = [];
    onInput(node, (msg) => void handled.push(String(msg.topic)));
    const shared = { t: 1 };
    assert.strictEqual(await input({ topic: '40 deep', deep: nested(40) }), undefined);
    assert.strictEqual(await input({ topic: 'a Map', map: new Map([['k', { v: 1 }]]) }), undefined);
    assert.strictEqual(await input({ topic: '20,000 references', many: Array.from({ length: 20_000 }, () => shared) }), undefined);
    assert.deepStrictEqual(handled, ['40 deep', 'a Map', '20,000 references']);
  });

  it('refuses a property past the limits before the handler sees it', async () => {
    const { node, input } = fakeNode();
    let handled = 0;
    onInput(node, () => void handled++);
    const tooDeep = await input({ topic: 'x', extra: nested(70) });
    assert.strictEqual((tooDeep as Error & { code?: string }).code, 'PAYLOAD_TOO_DEEP');
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    const looped = await input({ topic: 'x', loop });
    assert.strictEqual((looped as Error & { code?: string }).code, 'PAYLOAD_TOO_DEEP');
    assert.strictEqual(handled, 0);
  });

  it("keeps a device's order when one message is answered later than the next", async () => {
    const { node, input } = fakeNode();
    const finished: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    onInput(node, (msg) => {
      if (msg.topic === 'slow') return gate.then(() => void finished.push('slow'));
      finished.push(String(msg.topic));
    });
    const slow = input({ topic: 'slow', deviceId: 'd1' });
    const quick = input({ topic: 'quick', deviceId: 'd1' });
    const other = input({ topic: 'other device', deviceId: 'd2' });
    await other;
    assert.deepStrictEqual(finished, ['other device'], 'another device does not wait; the same device does');
    release();
    await Promise.all([slow, quick]);
    assert.deepStrictEqual(finished, ['other device', 'slow', 'quick']);
  });
});
