import assert from 'assert';
import { editorSandbox } from './editor';

// resources/m2m-config.js, as the build generates it from nodes/<type>/config.ts, run with a stub editor.
describe('editor: migration when a node is opened (resources/m2m-config.js)', () => {
  it('a first-release node is stepped up when its dialog opens: fields refreshed, node and flow marked changed', () => {
    const fields = new Map<string, unknown>([
      ['node-input-operation', 'touch'],
      ['node-input-upsert', false],
    ]);
    const editor = editorSandbox(fields);
    const defaults = { version: { value: 1 }, operation: { value: 'touch' }, upsert: { value: false }, pageSize: { value: 100 } };
    const node: Record<string, unknown> = { id: 'd1', type: 'm2m-device', upsert: false, _def: { category: 'M2M', defaults } };
    fields.set('node-input-pageSize', '');
    assert.deepStrictEqual({ ...editor.api.prepare(node) }, { from: 0, to: 1 });
    assert.strictEqual(node.version, 1);
    assert.strictEqual(node.operation, '', 'a node saved without an operation keeps taking it from msg.operation');
    assert.strictEqual(fields.get('node-input-operation'), '', 'the dialog shows the migrated value, not the default it was filled with');
    assert.strictEqual(fields.get('node-input-upsert'), false);
    assert.deepStrictEqual(
      [node.pageSize, fields.get('node-input-pageSize')],
      [100, '100'],
      'a property saved without gets its default, as the runtime reads it',
    );
    assert.deepStrictEqual([node.changed, node.dirty, editor.dirty], [true, true, [true]]);
  });

  it('a node of today leaves the flow as it was', () => {
    const editor = editorSandbox();
    const node: Record<string, unknown> = {
      type: 'm2m-rule',
      version: 2,
      rules: [],
      _def: { defaults: { version: { value: 2 }, rules: { value: [{ name: 'r' }] } } },
    };
    assert.deepStrictEqual({ ...editor.api.prepare(node) }, { from: 2, to: 2 });
    assert.deepStrictEqual([node.changed, node.rules, editor.dirty], [undefined, [], []]);
  });

  it('a node from a newer release is left untouched, and the editor says why', () => {
    const editor = editorSandbox();
    const node: Record<string, unknown> = { type: 'm2m-simulator', version: 9, metrics: [], _def: { defaults: {} } };
    editor.api.prepare(node);
    assert.deepStrictEqual([node.version, node.metrics, node.changed], [9, [], undefined]);
    assert.deepStrictEqual(editor.notified, [
      'm2m-simulator: version 9 is a config saved by a newer release of @m2mflow/node-red-m2m (this release reads up to version 1)',
    ]);
  });
});
