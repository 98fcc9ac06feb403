import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { checks, configNodeTypes, flowNodeTypes, gatherFacts, runChecks, type PackageFacts } from '../../scripts/scorecard';

const paletteHtml = `<script type="text/javascript">RED.nodes.registerType('x-sensor', { category: 'M2M', defaults: {} });</script>`;
const configHtml = `<script type="text/javascript">RED.nodes.registerType('x-broker', { category: 'config', defaults: {} });</script>`;

/** A small package that passes every check; each case below breaks one thing. */
function goodPackage(): PackageFacts {
  return {
    manifest: {
      name: '@acme/node-red-x',
      license: 'MIT',
      repository: { type: 'git', url: 'git+https://example.org/acme/x.git' },
      keywords: ['node-red', 'iot'],
      engines: { node: '>=18' },
      dependencies: { a: '1', b: '1' },
      'node-red': { version: '>=4.0.0', nodes: { 'x-sensor': 'dist/x-sensor.js', 'x-broker': 'dist/x-broker.js' } },
    },
    installedNodeRedVersion: '4.1.8',
    nodeFiles: [
      { type: 'x-sensor', file: 'dist/x-sensor.js', exists: true, html: paletteHtml },
      { type: 'x-broker', file: 'dist/x-broker.js', exists: true, html: configHtml },
    ],
    hasExamplesDir: true,
    examples: [{ file: 'demo.json', types: ['inject', 'x-sensor', 'debug'] }],
    hasReadme: true,
    published: { 'node-red': { latest: '5.0.7', maintenance: '4.1.8' }, a: { latest: '1.4.0' }, b: { latest: '1.0.0' } },
  };
}

function resultOf(title: string, facts: PackageFacts): { ok: boolean; detail: string } {
  const check = checks.find((c) => c.title === title);
  assert.ok(check, `no check titled "${title}"`);
  return check.run(facts);
}

const failingCases: Array<[string, (p: PackageFacts) => void, RegExp]> = [
  ['license present', (p) => delete p.manifest.license, /no "license"/],
  ['repository present', (p) => delete p.manifest.repository, /no "repository"/],
  ['scoped package name', (p) => (p.manifest.name = 'node-red-x'), /not a scoped name/],
  ['"node-red" keyword', (p) => (p.manifest.keywords = ['iot']), /lacks "node-red"/],
  ['node-red.version satisfied by the installed Node-RED', (p) => (p.installedNodeRedVersion = '3.1.0'), /3\.1\.0 does not satisfy >=4\.0\.0/],
  [
    'node-red.version admits a current Node-RED release (P06)',
    (p) => (p.manifest['node-red'] = { ...p.manifest['node-red'], version: '~3.1.0' }),
    /admits none of latest 5\.0\.7, maintenance 4\.1\.8/,
  ],
  ['runtime dependencies admit their latest release (D03)', (p) => (p.published = { ...p.published, b: { latest: '2.0.0' } }), /^b 1 excludes latest 2\.0\.0$/],
  ['engines.node present', (p) => delete p.manifest.engines, /no "engines.node"/],
  ['every node file in node-red.nodes exists', (p) => (p.nodeFiles[0].exists = false), /x-sensor \(dist\/x-sensor\.js\)/],
  ['every non-config node used in an example', (p) => (p.examples[0].types = ['inject', 'debug']), /no example uses: x-sensor$/],
  ['every example is an importable flow', (p) => p.examples.push({ file: 'bad.json', types: { error: 'not JSON' } }), /bad\.json: not JSON/],
  ['6 or fewer runtime dependencies', (p) => (p.manifest.dependencies = Object.fromEntries('abcdefg'.split('').map((d) => [d, '1']))), /^7:/],
  ['examples folder present', (p) => ((p.hasExamplesDir = false), (p.examples = [])), /no examples/],
  ['README present', (p) => (p.hasReadme = false), /no README/],
];

describe('scorecard', () => {
  it('passes every check for a well-formed package', () => {
    const failed = runChecks(goodPackage()).filter((r) => !r.ok);
    assert.deepStrictEqual(failed, []);
  });

  it('has a failing case below for every check', () => {
    assert.deepStrictEqual(failingCases.map(([title]) => title).sort(), checks.map((c) => c.title).sort());
  });

  for (const [title, breakIt, reason] of failingCases) {
    it(`fails "${title}" with the reason`, () => {
      assert.strictEqual(resultOf(title, goodPackage()).ok, true);
      const broken = goodPackage();
      breakIt(broken);
      const result = resultOf(title, broken);
      assert.strictEqual(result.ok, false);
      assert.match(result.detail, reason);
    });
  }

  it('flags a node.js that exists without its editor .html', () => {
    const facts = goodPackage();
    delete facts.nodeFiles[0].html;
    assert.match(resultOf('every node file in node-red.nodes exists', facts).detail, /x-sensor \(no \.html beside dist\/x-sensor\.js\)/);
  });

  it('registry checks pass with a note offline, and fail offline under CI, where the registry must be reached', () => {
    const offline = { ...goodPackage(), published: { unavailable: 'ENOTFOUND' } };
    const ci = process.env.CI;
    try {
      delete process.env.CI;
      assert.match(resultOf('runtime dependencies admit their latest release (D03)', offline).detail, /^skipped: registry not reachable \(ENOTFOUND\)/);
      process.env.CI = 'true';
      assert.strictEqual(resultOf('runtime dependencies admit their latest release (D03)', offline).ok, false);
    } finally {
      if (ci === undefined) delete process.env.CI;
      else process.env.CI = ci;
    }
  });

  it('rejects a node-red.version that is not a semver range', () => {
    const facts = goodPackage();
    facts.manifest['node-red'] = { ...facts.manifest['node-red'], version: 'latest please' };
    assert.match(resultOf('node-red.version satisfied by the installed Node-RED', facts).detail, /not a semver range/);
  });

  it('treats only types registered with category config as config nodes', () => {
    const two = `${paletteHtml}\n<script>RED.nodes.registerType("x-store", {\n  category: "config",\n  defaults: {}\n});</script>`;
    assert.deepStrictEqual([...configNodeTypes(two)], ['x-store']);
    assert.deepStrictEqual([...configNodeTypes(paletteHtml)], []);
  });

  it('reads the node types of a flow export and says why a file is not one', () => {
    assert.deepStrictEqual(flowNodeTypes('[{"id":"a","type":"inject"},{"id":"b","type":"m2m-rule"}]'), ['inject', 'm2m-rule']);
    assert.match((flowNodeTypes('{"id":"a"}') as { error: string }).error, /not an array/);
    assert.match((flowNodeTypes('[{"id":"a"}]') as { error: string }).error, /no "type"/);
    assert.match((flowNodeTypes('[{') as { error: string }).error, /not JSON/);
  });

  it('gathers facts from a package directory on disk', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scorecard-'));
    try {
      const facts = goodPackage();
      fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify(facts.manifest));
      fs.mkdirSync(path.join(root, 'dist'));
      fs.writeFileSync(path.join(root, 'dist/x-sensor.js'), '');
      fs.writeFileSync(path.join(root, 'dist/x-sensor.html'), paletteHtml);
      fs.mkdirSync(path.join(root, 'examples'));
      fs.writeFileSync(path.join(root, 'examples/demo.json'), '[{"id":"n1","type":"x-sensor"}]');
      const gathered = gatherFacts(root, '4.1.8');
      assert.deepStrictEqual(
        gathered.nodeFiles.map((n) => [n.type, n.exists, n.html !== undefined]),
        [
          ['x-sensor', true, true],
          ['x-broker', false, false],
        ],
      );
      assert.deepStrictEqual(gathered.examples, [{ file: 'demo.json', types: ['x-sensor'] }]);
      assert.strictEqual(gathered.hasReadme, false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
