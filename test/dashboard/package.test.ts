// The widgets as Dashboard 2.0 finds them: declared in package.json "node-red-dashboard-2", each bundle a UMD
// library named after its widget that exports the component, shipped in the package, and the dashboard a peer.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import vm from 'vm';

const ROOT = path.join(__dirname, '../..');
interface Manifest {
  files: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  'node-red': { nodes: Record<string, string> };
  'node-red-dashboard-2': { widgets: Record<string, { output: string; component: string }> };
}
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
const widgets = manifest['node-red-dashboard-2'].widgets;

describe('Dashboard 2.0 widgets in the package', () => {
  it('declares ui-m2m-alarms and ui-m2m-devices, each a node of the package with its bundle in resources/', () => {
    assert.deepStrictEqual(Object.keys(widgets).sort(), ['ui-m2m-alarms', 'ui-m2m-devices']);
    for (const [type, widget] of Object.entries(widgets)) {
      assert.ok(manifest['node-red'].nodes[type], `${type} is a node of the package`);
      assert.strictEqual(widget.output, `${type}.umd.js`);
    }
    assert.ok(manifest.files.includes('resources/'), 'resources/ (the built bundles) is in the npm package');
    assert.match(fs.readFileSync(path.join(ROOT, 'resources', '.gitignore'), 'utf8'), /^\/ui-m2m-\*\.umd\.js$/m, 'built, not committed');
  });

  it('needs the dashboard only as an optional peer, not as a dependency', () => {
    assert.strictEqual(manifest.dependencies?.['@flowfuse/node-red-dashboard'], undefined);
    assert.ok(manifest.peerDependencies?.['@flowfuse/node-red-dashboard']);
    assert.strictEqual(manifest.peerDependenciesMeta?.['@flowfuse/node-red-dashboard']?.optional, true);
  });

  for (const [type, widget] of Object.entries(widgets)) {
    it(`${type}: the built bundle puts ${widget.component} on window["${type}"] with Vue taken from the page, and renders no HTML from data`, function () {
      const file = path.join(ROOT, 'resources', widget.output);
      if (!fs.existsSync(file)) {
        if (process.env.CI === 'true') assert.fail(`${file} is missing: npm run build`);
        this.skip();
      }
      const source = fs.readFileSync(file, 'utf8');
      assert.ok(!/innerHTML|v-html/.test(source), 'no innerHTML and no v-html');
      const window: Record<string, unknown> = { Vue: new Proxy({}, { get: () => () => undefined }) };
      window.globalThis = window;
      vm.runInNewContext(source, window);
      const library = window[type] as Record<string, { name?: string }> | undefined;
      assert.strictEqual(library?.[widget.component]?.name, widget.component);
    });
  }
});
