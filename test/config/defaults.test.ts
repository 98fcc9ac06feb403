import assert from 'assert';
import { loadNodeConfigs } from '../../lib/config/editor-script';
import type { NodeConfig } from '../../lib/config/reader';
import { type EditorDefinition, editorDefinitions, NODES_DIR } from './editor';

// Each default lives in one place, the node's schema (nodes/<type>/config.ts); the editor's defaults must say the same.
describe('node config defaults: the editor and the runtime agree', () => {
  const configs = loadNodeConfigs(NODES_DIR) as Array<NodeConfig<unknown>>;
  const editor = editorDefinitions();

  it('every node type the editor registers has a config with a schema', () => {
    const missing = [...editor.keys()].filter((type) => !configs.some((c) => c.type === type));
    assert.deepStrictEqual(missing, [], 'nodes/<type>/config.ts defines them');
    assert.ok(editor.size >= 6);
  });

  for (const type of editorDefinitions().keys()) {
    it(`${type}: the .html defaults are the schema's defaults, version included, property for property`, () => {
      const config = configs.find((c) => c.type === type) as NodeConfig<unknown>;
      const html = editor.get(type) as EditorDefinition;
      // through JSON: the values were made in the sandbox, with its own Object and Array
      const fromHtml = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(html.defaults).map(([name, d]) => [name, d.value])))) as Record<
        string,
        unknown
      >;
      assert.deepStrictEqual(fromHtml, config.defaults());
    });
  }

  it('no duration that ends in a timer can be 0 or NaN: each has a minimum above 0, or 0 means off', () => {
    const durations: Record<string, string[]> = { 'm2m-command': ['timeout'], 'm2m-rule': ['shelveFor', 'idleHours'], 'm2m-simulator': ['interval'] };
    for (const [type, names] of Object.entries(durations)) {
      const config = configs.find((c) => c.type === type) as NodeConfig<unknown>;
      for (const name of names) {
        for (const bad of ['0', 'NaN', 'soon', '-1']) {
          if (type === 'm2m-simulator' && bad === '0') continue; // 0 turns telemetry off: no timer
          assert.throws(() => config.read({ version: config.version, [name]: bad }), { code: 'INVALID_CONFIG', field: name }, `${type} ${name}=${bad}`);
        }
      }
    }
    assert.throws(
      () => (configs.find((c) => c.type === 'm2m-simulator') as NodeConfig<unknown>).read({ version: 1, interval: 0.001 }),
      /interval must be 0 \(no telemetry\) or 0\.01 to/,
    );
  });
});
