import assert from 'assert';
import { MAX_CONTAINERS, MAX_NESTING, checkShape, measureShape, nestingDepth, oversizedProperty } from '../../lib/depth';
import { M2MError } from '../../lib/errors';

/** `{a: {a: ... {}}}` n levels deep, built without recursion. */
function nested(levels: number, wrap: (inner: unknown) => unknown = (inner) => ({ a: inner })): unknown {
  let value: unknown = {};
  for (let i = 1; i < levels; i++) value = wrap(value);
  return value;
}

/** `levels` arrays, each holding the one inside it twice: 2^levels paths through `levels` objects. */
function sharedTree(levels: number): unknown {
  let value: unknown = { leaf: 1 };
  for (let i = 0; i < levels; i++) value = [value, value];
  return value;
}

const isCode =
  (code: string, field: string) =>
  (err: unknown): boolean =>
    err instanceof M2MError && err.code === code && err.field === field;

describe('message shape guard (lib/depth)', () => {
  it('measures scalars, strings and buffers as 0 and each object or array level as 1', () => {
    assert.strictEqual(nestingDepth(42), 0);
    assert.strictEqual(nestingDepth('x'.repeat(1000)), 0);
    assert.strictEqual(nestingDepth(Buffer.alloc(100)), 0);
    assert.strictEqual(nestingDepth({}), 1);
    assert.strictEqual(nestingDepth({ a: [1, { b: 2 }] }), 3);
    assert.strictEqual(nestingDepth(new Map([['k', [[1]]]])), 3);
    assert.strictEqual(nestingDepth(nested(MAX_NESTING)), MAX_NESTING);
    assert.deepStrictEqual(measureShape({ a: [1, { b: 2 }], c: {} }), { depth: 3, containers: 4 });
  });

  it('refuses nesting past the limit, 100,000 levels deep, without overflowing the stack', () => {
    assert.strictEqual(nestingDepth(nested(MAX_NESTING + 1)), Infinity);
    assert.strictEqual(nestingDepth(nested(100_000, (inner) => [inner])), Infinity);
    assert.strictEqual(nestingDepth(JSON.parse(`${'['.repeat(3000)}${']'.repeat(3000)}`)), Infinity);
  });

  it('refuses a value that contains itself', () => {
    const loop: Record<string, unknown> = { a: [] };
    (loop.a as unknown[]).push(loop);
    assert.strictEqual(nestingDepth(loop), Infinity);
  });

  it('walks an object shared by many references once (CBOR value sharing), so the cost stays linear', () => {
    // walking the 2^60 paths one by one would never end
    assert.strictEqual(nestingDepth(sharedTree(60)), 61);
    assert.strictEqual(measureShape(sharedTree(10)).containers, 2 ** 11 - 1);
  });

  it('counts a shared object once per reference against the container limit', () => {
    assert.throws(() => checkShape(sharedTree(40), 'payload'), isCode('PAYLOAD_TOO_LARGE', 'payload'));
    const one = { v: 1 };
    assert.throws(() => checkShape(new Array(MAX_CONTAINERS).fill(one), 'payload'), isCode('PAYLOAD_TOO_LARGE', 'payload'));
    assert.doesNotThrow(() => checkShape(new Array(MAX_CONTAINERS - 1).fill(one), 'payload'));
    assert.doesNotThrow(() => checkShape(new Array(1_000_000).fill(1), 'payload'), 'a long array of numbers is one container');
  });

  it('throws PAYLOAD_TOO_DEEP naming the field', () => {
    assert.throws(
      () => checkShape(nested(3000), 'payload'),
      (err: unknown) => isCode('PAYLOAD_TOO_DEEP', 'payload')(err) && /deeper than 64 levels/.test((err as Error).message),
    );
    assert.doesNotThrow(() => checkShape(nested(10), 'payload'));
  });

  it('finds the oversized property of a message, skipping the ones named', () => {
    const msg = { payload: { ok: true }, topic: 't', extra: nested(200), res: nested(200) };
    assert.strictEqual(oversizedProperty(msg, new Set(['res']))?.field, 'extra');
    assert.strictEqual(oversizedProperty(msg, new Set(['res', 'extra'])), undefined);
  });
});
