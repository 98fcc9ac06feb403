// Node-RED 5 loads node files through its registry with dynamic import() where 4.x used require(); the test
// helper bypasses the registry, so this starts the real runtime on the built package and checks that every
// node declared in package.json loads. Run by `npm run test:nr5` (and on 4.x with `mocha <this file>`).
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { PACKAGE_ROOT, readManifest, startNodeRed, type RunningNodeRed } from '../browser/support/node-red-process';

interface NodeSet {
  module: string;
  types: string[];
  enabled: boolean;
  err?: unknown;
}

const manifest = readManifest(PACKAGE_ROOT);
const declared = Object.entries(manifest['node-red']?.nodes ?? {});

describe('the Node-RED runtime registry', function () {
  this.timeout(60000);
  let nodeRed: RunningNodeRed | undefined;

  before(function () {
    const built = declared.some(([, file]) => fs.existsSync(path.join(PACKAGE_ROOT, file)));
    if (!built) {
      if (process.env.CI === 'true') throw new Error('dist/ is missing: run npm run build before this test');
      console.log('    registry load check skipped: dist/ is missing (npm run build)');
      this.skip();
    }
  });

  after(() => nodeRed?.stop());

  it('loads every node the package declares, with no load error', async () => {
    nodeRed = await startNodeRed();
    const res = await fetch(`${nodeRed.url}/nodes`, { headers: { Accept: 'application/json' } });
    const sets = ((await res.json()) as NodeSet[]).filter((s) => s.module === manifest.name);
    const problems = declared.flatMap(([type, file]) => {
      const set = sets.find((s) => s.types.includes(type));
      const logged = nodeRed?.log.filter((line) => line.includes(`/${type}]`)).join(' ') ?? '';
      if (!set) return [`${type} (${file}): not loaded ${logged}`];
      if (set.err !== undefined || !set.enabled) return [`${type}: ${JSON.stringify(set.err)} ${logged}`];
      return [];
    });
    const version = nodeRed.log.find((line) => line.includes('Node-RED version'));
    assert.deepStrictEqual(problems, [], `${version}: nodes the registry could not load`);
  });
});
