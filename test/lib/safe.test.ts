import assert from 'assert';
import vm from 'vm';
import { isPlainObject } from '../../lib/safe';

describe('isPlainObject', () => {
  it('takes an object a Node-RED function node made (its own vm context), as Node-RED passes it on unchanged', () => {
    const fromFunctionNode = vm.runInNewContext('({ id: "p1", attributes: { line: 2 } })') as unknown;
    assert.notStrictEqual(Object.getPrototypeOf(fromFunctionNode), Object.prototype, 'another realm');
    assert.strictEqual(isPlainObject(fromFunctionNode), true);
  });

  it('takes literals and null-prototype objects', () => {
    assert.strictEqual(isPlainObject({ a: 1 }), true);
    assert.strictEqual(isPlainObject(Object.create(null)), true);
  });

  it('refuses arrays, class instances, dates, maps and buffers, of either realm', () => {
    class Point {
      x = 1;
    }
    for (const value of [[], new Point(), new Date(), new Map(), Buffer.from('x'), null, 'text', 3]) {
      assert.strictEqual(isPlainObject(value), false, Object.prototype.toString.call(value));
    }
    for (const code of ['[1]', 'new Date()', 'new Map()', 'new (class P { })()']) {
      assert.strictEqual(isPlainObject(vm.runInNewContext(code)), false, code);
    }
  });
});
