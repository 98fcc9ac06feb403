import assert from 'assert';
import { computeDelta } from '../../lib/twin/delta';
import { frozenJsonObject, type JsonObject } from '../../lib/twin/json';
import { applyMergePatch } from '../../lib/twin/merge-patch';

function merge(target: unknown, patch: unknown): { doc: JsonObject; changedKeys: string[] } {
  return applyMergePatch(frozenJsonObject(target, 'target', 64), frozenJsonObject(patch, 'patch', 64));
}

describe('twin merge patch (RFC 7396)', () => {
  // the examples of RFC 7396 appendix A whose target and patch are objects
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    [{ a: 'foo' }, { a: { b: null } }, { a: {} }],
  ];
  for (const [target, patch, expected] of cases) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)} = ${JSON.stringify(expected)}`, () => {
      assert.deepStrictEqual(merge(target, patch).doc, expected);
    });
  }

  it('names the top-level keys that changed, and none for a patch that changes nothing', () => {
    assert.deepStrictEqual(merge({ a: 1, b: { c: 2 }, d: 3 }, { a: 2, b: { c: 2 }, d: null, e: null }).changedKeys, ['a', 'd']);
    const target = frozenJsonObject({ a: 1, b: { c: [1, 2] } }, 'target', 64);
    const same = applyMergePatch(target, frozenJsonObject({ a: 1, b: { c: [1, 2] }, gone: null }, 'patch', 64));
    assert.deepStrictEqual(same.changedKeys, []);
    assert.strictEqual(same.doc, target, 'an unchanged document is the same object');
  });

  it('never changes the target, and shares the parts the patch leaves alone', () => {
    const target = frozenJsonObject({ keep: { deep: [1, 2, 3] }, change: 1 }, 'target', 64);
    const { doc } = applyMergePatch(target, frozenJsonObject({ change: 2 }, 'patch', 64));
    assert.deepStrictEqual(target, { keep: { deep: [1, 2, 3] }, change: 1 });
    assert.strictEqual(doc.keep, target.keep);
    assert.ok(Object.isFrozen(doc));
  });
});

describe('twin delta', () => {
  it('holds the desired keys whose value differs from the reported one, comparing deeply', () => {
    const desired = frozenJsonObject({ setpoint: 21, mode: 'heat', schedule: { mon: [6, 22], tue: [7, 23] }, list: [1, { a: 1 }] }, 'd', 64);
    const reported = frozenJsonObject(
      { setpoint: 21, mode: 'off', schedule: { mon: [6, 22], tue: [7, 22], extra: 1 }, list: [1, { a: 1 }], other: 5 },
      'r',
      64,
    );
    assert.deepStrictEqual(computeDelta(desired, reported), { mode: 'heat', schedule: { tue: [7, 23] } });
  });

  it('is empty when everything desired is reported, and holds what was never reported', () => {
    const desired = frozenJsonObject({ a: { b: 1 } }, 'd', 64);
    assert.deepStrictEqual(computeDelta(desired, frozenJsonObject({ a: { b: 1, c: 2 } }, 'r', 64)), {});
    assert.deepStrictEqual(computeDelta(desired, frozenJsonObject({}, 'r', 64)), { a: { b: 1 } });
    assert.deepStrictEqual(
      computeDelta(frozenJsonObject({ n: null }, 'd', 64), frozenJsonObject({}, 'r', 64)),
      { n: null },
      'a stored null differs from a missing key',
    );
  });
});
