// Help is written once, in markdown, where Node-RED looks for a node's localized help:
// nodes/<type>/locales/en-US/<type>.html. Each one documents every property the editor saves, the inputs, the
// outputs and the error codes, in the forms the editor's markdown renders as property lists.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { type EditorDefinition, editorDefinitions, NODES_DIR } from './editor';
import { helpFile, helpMarkdown } from './help';

const root = path.join(NODES_DIR, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };

/** The editor's own rules (red.js, RED.utils.renderMarkdown): lines `: name (type) : text` make a property list
 * (the block: exactly two colons a line), each line a <dt>/<dd>. */
const PROPERTY_BLOCK_LINE = /^:[^:\n]+:[^:\n]*$/;
const PROPERTY_LINE = /^:([^:\n]+)\(([^:\n]+)\).*?:([^:\n]*)(?:\n|$)/;

/** The markdown of one `### heading` section. */
function section(markdown: string, heading: string): string | undefined {
  const m = new RegExp(`^### ${heading}\\n([\\s\\S]*?)(?=^### |(?![\\s\\S]))`, 'm').exec(markdown);
  return m?.[1];
}

/** The terms of the property lines of a section, without markdown emphasis or code marks. */
function terms(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(':'))
    .map((l) => (PROPERTY_LINE.exec(l)?.[1] ?? '').replace(/[*`]/g, '').trim());
}

/** The label the editor shows for a property: its locale label, up to an explaining parenthesis. */
function labelOf(type: string, name: string): string | undefined {
  if (name === 'name') return 'Name';
  const file = path.join(NODES_DIR, type, 'locales', 'en-US', `${type}.json`);
  const catalog = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { label?: Record<string, string> }>;
  return catalog[type]?.label?.[name]?.replace(/\s*\(.*$/, '');
}

describe('node help: written once, in markdown, in locales/en-US', () => {
  const definitions = editorDefinitions();
  const types = Object.keys(pkg['node-red'].nodes);
  // Types whose help has moved; the rest follow (remove this list once all are there).
  const moved = types.filter((type) => fs.existsSync(helpFile(type)));

  it('every node type of the package has its help in nodes/<type>/locales/en-US/<type>.html, not in its .html', () => {
    assert.ok(moved.includes('m2m-device'));
    for (const type of moved) {
      const own = fs.readFileSync(path.join(NODES_DIR, type, `${type}.html`), 'utf8');
      assert.ok(!own.includes('data-help-name'), `${type}.html keeps no help of its own (Node-RED would show it instead)`);
    }
  });

  for (const type of types) {
    describe(type, () => {
      before(function () {
        if (!fs.existsSync(helpFile(type))) this.skip();
      });

      it('every property line renders as a property (no colon inside its text; details go below)', () => {
        const bad = helpMarkdown(type)
          .split('\n')
          .filter((l) => l.startsWith(':') && !(PROPERTY_BLOCK_LINE.test(l) && PROPERTY_LINE.test(`${l}\n`)));
        assert.deepStrictEqual(bad, []);
      });

      it('documents every property the editor saves, by the label the dialog shows', () => {
        const def = definitions.get(type) as EditorDefinition;
        const documented = terms(section(helpMarkdown(type), 'Properties') ?? '');
        const missing = Object.keys(def.defaults)
          // version is no property of the dialog; a typed input's type (deviceIdPathType) is documented with its field
          .filter((name) => name !== 'version' && !(name.endsWith('Type') && name.slice(0, -4) in def.defaults))
          .map((name) => ({ name, label: labelOf(type, name) }))
          .filter(({ label }) => label === undefined || !documented.includes(label));
        assert.deepStrictEqual(missing, [], `each needs "label.<name>" in ${type}.json and a ": <label> (type) : …" line`);
      });

      it('has inputs, outputs and errors sections as the node has ports', () => {
        const def = definitions.get(type) as EditorDefinition & { inputs?: number; outputs?: number };
        const markdown = helpMarkdown(type);
        if (def.inputs) assert.ok(terms(section(markdown, 'Inputs') ?? '').length > 0, 'Inputs lists msg properties');
        if (def.outputs) {
          const outputs = section(markdown, 'Outputs') ?? '';
          const ports = outputs.split('\n').filter((l) => /^\d+\. /.test(l)).length;
          assert.ok(def.outputs === 1 ? terms(outputs).length > 0 : ports === def.outputs, `Outputs describes each of ${def.outputs} ports`);
        }
        assert.ok(
          terms(section(markdown, 'Errors') ?? '').every((t) => /^[A-Z][A-Z_]+$/.test(t)),
          'Errors lists codes',
        );
        assert.ok(terms(section(markdown, 'Errors') ?? '').length > 0, 'Errors lists the codes the node can raise');
      });
    });
  }
});

describe('README: the per-node section points to the help', () => {
  it('links every node type of the package to its help file, and every linked help file exists', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const linked = [...readme.matchAll(/\]\((nodes\/([\w-]+)\/locales\/en-US\/\2\.html)\)/g)].map((m) => m[1]);
    assert.deepStrictEqual(
      linked.filter((file) => !fs.existsSync(path.join(root, file))),
      [],
      'links to help files that exist',
    );
    const core = ['m2m-registry', 'm2m-device', 'm2m-telemetry', 'm2m-rule', 'm2m-command', 'm2m-twin', 'm2m-simulator'];
    const unlinked = [...new Set([...core, ...Object.keys(pkg['node-red'].nodes).filter((type) => fs.existsSync(helpFile(type)))])].filter(
      (type) => !linked.includes(`nodes/${type}/locales/en-US/${type}.html`),
    );
    assert.deepStrictEqual(unlinked, [], 'add a row to "The nodes" with [`<type>`](nodes/<type>/locales/en-US/<type>.html)');
  });
});
