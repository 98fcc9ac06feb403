// `npm run scorecard`: checks the package the way Node-RED's flow library scores it, offline, so a release
// never lands with a low score. Prints each check and exits non-zero when one fails.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';

// semver ships no types; this is the one function used.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const semver = require('semver') as { satisfies(version: string, range: string): boolean; validRange(range: string): string | null };

export interface PackageManifest {
  name?: string;
  license?: string;
  repository?: string | { type?: string; url?: string };
  keywords?: string[];
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  'node-red'?: { version?: string; nodes?: Record<string, string> };
}

export interface NodeFile {
  type: string;
  /** Path of the runtime .js as declared in package.json. */
  file: string;
  exists: boolean;
  /** The editor .html beside it, when present. */
  html?: string;
}

export interface ExampleFlow {
  file: string;
  /** Node types in the flow, or the reason it is not a flow. */
  types: string[] | { error: string };
}

export interface PackageFacts {
  manifest: PackageManifest;
  installedNodeRedVersion: string;
  nodeFiles: NodeFile[];
  hasExamplesDir: boolean;
  examples: ExampleFlow[];
  hasReadme: boolean;
  /**
   * The registry's dist-tags (`latest`, `maintenance`, …) of node-red and of each runtime dependency, or why
   * they could not be read (offline). Only the registry knows what has been published since the last install.
   */
  published: Record<string, Record<string, string>> | { unavailable: string };
}

export interface CheckResult {
  ok: boolean;
  detail: string;
}

export interface Check {
  title: string;
  run(facts: PackageFacts): CheckResult;
}

export const MAX_RUNTIME_DEPENDENCIES = 6;

const pass = (detail: string): CheckResult => ({ ok: true, detail });
const fail = (detail: string): CheckResult => ({ ok: false, detail });

/** A registry check passes with a note when offline, except in CI, where the registry must be reached. */
function withPublished(facts: PackageFacts, check: (published: Record<string, Record<string, string>>) => CheckResult): CheckResult {
  if ('unavailable' in facts.published) {
    const why = `registry not reachable (${facts.published.unavailable})`;
    return process.env.CI === 'true' ? fail(why) : pass(`skipped: ${why}`);
  }
  return check(facts.published);
}

/** Types an editor .html registers with `category: 'config'` (config nodes never appear in the palette). */
export function configNodeTypes(html: string): Set<string> {
  const types = new Set<string>();
  const registration = /RED\.nodes\.registerType\(\s*['"]([^'"]+)['"]\s*,\s*\{/g;
  for (let match = registration.exec(html); match; match = registration.exec(html)) {
    const next = html.indexOf('registerType(', registration.lastIndex);
    const body = html.slice(registration.lastIndex, next === -1 ? undefined : next);
    if (/\bcategory\s*:\s*['"]config['"]/.test(body)) types.add(match[1]);
  }
  return types;
}

function repositoryUrl(repository: PackageManifest['repository']): string | undefined {
  return typeof repository === 'string' ? repository : repository?.url;
}

export const checks: Check[] = [
  {
    title: 'license present',
    run: ({ manifest }) => (manifest.license ? pass(manifest.license) : fail('package.json has no "license"')),
  },
  {
    title: 'repository present',
    run: ({ manifest }) => {
      const url = repositoryUrl(manifest.repository);
      return url ? pass(url) : fail('package.json has no "repository" url');
    },
  },
  {
    title: 'scoped package name',
    run: ({ manifest }) =>
      /^@[a-z0-9-~][a-z0-9-._~]*\/[a-z0-9-~][a-z0-9-._~]*$/.test(manifest.name ?? '')
        ? pass(manifest.name ?? '')
        : fail(`"${manifest.name ?? ''}" is not a scoped name (@scope/name)`),
  },
  {
    title: '"node-red" keyword',
    run: ({ manifest }) => (manifest.keywords?.includes('node-red') ? pass('present') : fail('"keywords" lacks "node-red"')),
  },
  {
    title: 'node-red.version satisfied by the installed Node-RED',
    run: ({ manifest, installedNodeRedVersion }) => {
      const range = manifest['node-red']?.version;
      if (!range) return fail('package.json has no "node-red.version"');
      if (!semver.validRange(range)) return fail(`"${range}" is not a semver range`);
      return semver.satisfies(installedNodeRedVersion, range)
        ? pass(`${installedNodeRedVersion} satisfies ${range}`)
        : fail(`installed Node-RED ${installedNodeRedVersion} does not satisfy ${range}`);
    },
  },
  {
    title: 'node-red.version admits a current Node-RED release (P06)',
    run: (facts) =>
      withPublished(facts, (published) => {
        const range = facts.manifest['node-red']?.version ?? '';
        const tags = Object.entries(published['node-red'] ?? {}).filter(([tag]) => tag === 'latest' || tag === 'maintenance');
        const admitted = tags.filter(([, version]) => semver.validRange(range) && semver.satisfies(version, range));
        const listed = tags.map(([tag, version]) => `${tag} ${version}`).join(', ');
        return admitted.length > 0 ? pass(`${range} admits ${listed}`) : fail(`"${range}" admits none of ${listed || 'the published releases'}`);
      }),
  },
  {
    title: 'runtime dependencies admit their latest release (D03)',
    run: (facts) =>
      withPublished(facts, (published) => {
        const stale = Object.entries(facts.manifest.dependencies ?? {}).filter(([name, range]) => {
          const latest = published[name]?.latest;
          return latest === undefined || !semver.satisfies(latest, range);
        });
        return stale.length === 0
          ? pass(`${Object.keys(facts.manifest.dependencies ?? {}).length} dependencies`)
          : fail(stale.map(([name, range]) => `${name} ${range} excludes latest ${published[name]?.latest ?? '(unknown)'}`).join('; '));
      }),
  },
  {
    title: 'engines.node present',
    run: ({ manifest }) => (manifest.engines?.node ? pass(manifest.engines.node) : fail('package.json has no "engines.node"')),
  },
  {
    title: 'every node file in node-red.nodes exists',
    run: ({ nodeFiles }) => {
      if (nodeFiles.length === 0) return fail('"node-red.nodes" declares no nodes');
      const missing = nodeFiles.filter((n) => !n.exists || n.html === undefined);
      return missing.length === 0
        ? pass(`${nodeFiles.length} nodes, each with its .js and .html`)
        : fail(`missing (run the build?): ${missing.map((n) => `${n.type} (${n.exists ? 'no .html beside ' : ''}${n.file})`).join(', ')}`);
    },
  },
  {
    title: 'every non-config node used in an example',
    run: ({ nodeFiles, examples }) => {
      const config = new Set(nodeFiles.flatMap((n) => [...configNodeTypes(n.html ?? '')]));
      const used = new Set(examples.flatMap((e) => (Array.isArray(e.types) ? e.types : [])));
      const unused = nodeFiles.map((n) => n.type).filter((t) => !config.has(t) && !used.has(t));
      return unused.length === 0 ? pass(`${used.size} node types used in ${examples.length} examples`) : fail(`no example uses: ${unused.join(', ')}`);
    },
  },
  {
    title: 'every example is an importable flow',
    run: ({ examples }) => {
      const broken = examples.filter((e) => !Array.isArray(e.types));
      return broken.length === 0
        ? pass(`${examples.length} flows`)
        : fail(broken.map((e) => `${e.file}: ${Array.isArray(e.types) ? '' : e.types.error}`).join('; '));
    },
  },
  {
    title: `${MAX_RUNTIME_DEPENDENCIES} or fewer runtime dependencies`,
    run: ({ manifest }) => {
      const deps = Object.keys(manifest.dependencies ?? {});
      const detail = `${deps.length}: ${deps.join(', ') || 'none'}`;
      return deps.length <= MAX_RUNTIME_DEPENDENCIES ? pass(detail) : fail(detail);
    },
  },
  {
    title: 'examples folder present',
    run: ({ hasExamplesDir, examples }) =>
      hasExamplesDir && examples.length > 0 ? pass(`${examples.length} .json flows`) : fail('no examples/*.json (Import > Examples shows nothing)'),
  },
  {
    title: 'README present',
    run: ({ hasReadme }) => (hasReadme ? pass('README.md') : fail('no README.md')),
  },
];

/** The node types a flow export (an array of node objects) contains. */
export function flowNodeTypes(text: string): string[] | { error: string } {
  let flow: unknown;
  try {
    flow = JSON.parse(text);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  if (!Array.isArray(flow)) return { error: 'not an array of nodes' };
  const types: string[] = [];
  for (const node of flow as unknown[]) {
    const type = (node as { type?: unknown } | null)?.type;
    if (typeof type !== 'string') return { error: 'a node has no "type"' };
    types.push(type);
  }
  return types;
}

/** Reads each package's dist-tags from the npm registry with the npm client as configured on this machine. */
export function readPublished(names: string[]): PackageFacts['published'] {
  const published: Record<string, Record<string, string>> = {};
  try {
    for (const name of names) {
      const out = execFileSync('npm', ['view', name, 'dist-tags', '--json'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
      published[name] = JSON.parse(out) as Record<string, string>;
    }
  } catch (err) {
    return { unavailable: ((err as Error).message.split('\n')[0] ?? '').slice(0, 200) };
  }
  return published;
}

export function gatherFacts(root: string, installedNodeRedVersion: string, published: PackageFacts['published'] = { unavailable: 'not asked' }): PackageFacts {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageManifest;
  const nodeFiles = Object.entries(manifest['node-red']?.nodes ?? {}).map(([type, file]): NodeFile => {
    const htmlPath = path.join(root, file.replace(/\.js$/, '.html'));
    return {
      type,
      file,
      exists: fs.existsSync(path.join(root, file)),
      html: fs.existsSync(htmlPath) ? fs.readFileSync(htmlPath, 'utf8') : undefined,
    };
  });
  const examplesDir = path.join(root, 'examples');
  const hasExamplesDir = fs.existsSync(examplesDir);
  const examples = (hasExamplesDir ? fs.readdirSync(examplesDir) : [])
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, types: flowNodeTypes(fs.readFileSync(path.join(examplesDir, file), 'utf8')) }));
  return { manifest, installedNodeRedVersion, nodeFiles, hasExamplesDir, examples, hasReadme: fs.existsSync(path.join(root, 'README.md')), published };
}

export function runChecks(facts: PackageFacts): Array<CheckResult & { title: string }> {
  return checks.map((check) => ({ title: check.title, ...check.run(facts) }));
}

function main(): void {
  const root = path.join(__dirname, '..');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeRedVersion = (require('node-red/package.json') as { version: string }).version;
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageManifest;
  const published = readPublished(['node-red', ...Object.keys(manifest.dependencies ?? {})]);
  const results = runChecks(gatherFacts(root, nodeRedVersion, published));
  for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.title}: ${r.detail}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(failed === 0 ? `scorecard: all ${results.length} checks pass` : `scorecard: ${failed} of ${results.length} checks fail`);
  process.exitCode = failed === 0 ? 0 : 1;
}

if (require.main === module) main();
