import assert from 'assert';
import { MAX_NESTING, checkNesting, nestingDepth, tooDeepProperty } from '../../lib/depth';
import { M2MError } from '../../lib/errors';

/** `{a: {a: ... {}}}` n levels deep, built without recursion. */
function nested(levels: number, wrap: (inner: unknown) => unknown = (inner) => ({ a: inner })): unknown {
  let value: unknown = {};
  for (let i = 1; i < levels; i++) value = wrap(value);
  return value;
}

describe('nesting guard (lib/depth)', () => {
  it('measures scalars, strings and buffers as 0 and each object or array level as 1', () => {
    assert.strictEqual(nestingDepth(42), 0);
    assert.strictEqual(nestingDepth('x'.repeat(1000)), 0);
    assert.strictEqual(nestingDepth(Buffer.alloc(100)), 0);
    assert.strictEqual(nestingDepth({}), 1);
    assert.strictEqual(nestingDepth({ a: [1, { b: 2 }] }), 3);
    assert.strictEqual(nestingDepth(new Map([['k', [[1]]]])), 3);
    assert.strictEqual(nestingDepth(nested(MAX_NESTING)), MAX_NESTING);
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
    // 60 levels, each holding its inner level twice: 2^60 paths through 60 objects
    let shared: unknown = { leaf: 1 };
    for (let i = 0; i < 60; i++) shared = [shared, shared];
    assert.strictEqual(nestingDepth(shared), 61); // walking the paths one by one would never end
  });

  it('throws PAYLOAD_TOO_DEEP naming the field', () => {
    assert.throws(
      () => checkNesting(nested(3000), 'payload'),
      (err: unknown) => err instanceof M2MError && err.code === 'PAYLOAD_TOO_DEEP' && err.field === 'payload' && /deeper than 64 levels/.test(err.message),
    );
    assert.doesNotThrow(() => checkNesting(nested(10), 'payload'));
  });

  it('finds the too-deep property of a message, skipping the ones named', () => {
    const msg = { payload: { ok: true }, topic: 't', extra: nested(200), res: nested(200) };
    assert.strictEqual(tooDeepProperty(msg, new Set(['res']))?.field, 'extra');
    assert.strictEqual(tooDeepProperty(msg, new Set(['res', 'extra'])), undefined);
  });
});
