// The editor experience in a real browser: Node-RED 4.1 with this package, driven through Chromium.
// Needs `npm run build` first (Node-RED loads dist/). Skips without Chromium, except when CI=true.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import type { Browser } from 'playwright-core';
import { PACKAGE_ROOT, readManifest, startNodeRed, type RunningNodeRed } from './support/node-red-process';
import {
  CHROMIUM,
  cancelEditDialog,
  chromiumInstalled,
  deploy,
  frameCurrentFlow,
  helpSidebarText,
  importThroughMenu,
  launchChromium,
  nodeKind,
  openConfigEditDialog,
  openEditDialog,
  openEditor,
  paletteTypes,
  placeNode,
  resetFlows,
  showFlow,
  type EditorSession,
} from './support/editor';

const PALETTE_CATEGORY = 'M2M';
const SCREENSHOT = path.join(PACKAGE_ROOT, 'docs', 'plant-flow.png');
// After "Started flows", how long to watch the log for errors that nodes raise while starting up.
const STARTUP_OBSERVATION_MS = 2000;

const manifest = readManifest(PACKAGE_ROOT);
const nodeTypes = Object.keys(manifest['node-red']?.nodes ?? {});
const examplesDir = path.join(PACKAGE_ROOT, 'examples');
const examples = fs.existsSync(examplesDir)
  ? fs
      .readdirSync(examplesDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];
// `npm run test:nr5` runs this file on Node-RED 5 too; the README screenshot stays the project's own 4.x.
const expectedMajor = Number(process.env.M2M_EXPECT_NR_MAJOR ?? '4');
const screenshotExample = expectedMajor !== 4 ? undefined : examples.includes('plant-monitoring.json') ? 'plant-monitoring.json' : examples[0];

interface NodeSet {
  module: string;
  types: string[];
  err?: unknown;
}

const describeError = (err: unknown): string => (typeof err === 'string' ? err : ((err as { message?: string })?.message ?? JSON.stringify(err)));

describe('the editor in Chromium', function () {
  this.timeout(180000);
  let nodeRed: RunningNodeRed | undefined;
  let browser: Browser | undefined;
  let editor: EditorSession;

  before(async function () {
    if (!chromiumInstalled()) {
      if (process.env.CI === 'true') throw new Error(`Chromium is required when CI=true but ${CHROMIUM} is missing (apt-get install chromium)`);
      console.log(`    browser test skipped: ${CHROMIUM} is missing (apt-get install chromium); it is required when CI=true`);
      this.skip();
    }
    nodeRed = await startNodeRed();
    browser = await launchChromium();
    editor = await openEditor(browser, nodeRed.url);
  });

  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
  });

  /** Fails with every console error and runtime `[error]` line seen since the marks. */
  function assertNoErrorsSince(marks: { console: number; log: number }, what: string): void {
    const seen = [...editor.consoleErrors.slice(marks.console), ...(nodeRed?.errorsSince(marks.log) ?? [])];
    assert.deepStrictEqual(seen, [], `${what}: errors in the browser console or the runtime log`);
  }
  const mark = (): { console: number; log: number } => ({ console: editor.consoleErrors.length, log: nodeRed?.log.length ?? 0 });

  it(`runs Node-RED ${expectedMajor}.x`, () => {
    const version = /Node-RED version: v(\d+)\./.exec(nodeRed?.log.join('\n') ?? '');
    assert.strictEqual(
      Number(version?.[1]),
      expectedMajor,
      nodeRed?.log.find((line) => line.includes('Node-RED version')),
    );
  });

  it('loads every node of the package into Node-RED', async () => {
    const res = await fetch(`${nodeRed?.url}/nodes`, { headers: { Accept: 'application/json' } });
    const sets = ((await res.json()) as NodeSet[]).filter((s) => s.module === manifest.name);
    const problems = nodeTypes.flatMap((type) => {
      const file = manifest['node-red']?.nodes?.[type] ?? '';
      const set = sets.find((s) => s.types.includes(type) || (s.err !== undefined && s.types.length === 0 && describeError(s.err).includes(file)));
      const logged = nodeRed?.log.filter((line) => line.includes(`/${type}]`)).join(' ') ?? '';
      if (!set) return [`${type}: not loaded (${logged || `is ${file} built? run npm run build`})`];
      if (set.err !== undefined) return [`${type}: ${describeError(set.err)} ${logged}`];
      return [];
    });
    assert.deepStrictEqual(problems, [], 'nodes that Node-RED could not load');
  });

  it(`shows every non-config node in the ${PALETTE_CATEGORY} palette category`, async () => {
    const shown = await paletteTypes(editor.page, PALETTE_CATEGORY);
    const expected: string[] = [];
    for (const type of nodeTypes) if ((await nodeKind(editor.page, type)) !== 'config') expected.push(type);
    const missing = expected.filter((t) => !shown.includes(t)).map((t) => `${t} is missing (not loaded, or no ${t}.html beside its .js?)`);
    const extra = shown.filter((t) => !expected.includes(t)).map((t) => `${t} is shown but not declared in package.json`);
    assert.deepStrictEqual([...missing, ...extra], [], `palette category ${PALETTE_CATEGORY}`);
  });

  nodeTypes.forEach((type, index) => {
    it(`${type}: opens its edit dialog and shows its help in the sidebar`, async () => {
      const before = mark();
      const kind = await nodeKind(editor.page, type);
      assert.notStrictEqual(kind, 'unknown', `${type}: the editor does not know this type (did it load? is its .html built?)`);
      const fields =
        kind === 'config'
          ? await openConfigEditDialog(editor.page, type)
          : await openEditDialog(editor.page, await placeNode(editor.page, type, `m2mbrowser${index}`));
      assert.ok(fields.length > 0, `${type}: the edit dialog shows no properties`);
      await cancelEditDialog(editor.page);
      const help = await helpSidebarText(editor.page, type);
      const excerpt = help.expected.replace(/\s+/g, ' ').trim().slice(0, 60);
      assert.ok(excerpt.length >= 20, `${type}: the node has no help text (data-help-name="${type}")`);
      assert.ok(help.shown.replace(/\s+/g, ' ').includes(excerpt), `${type}: the help sidebar does not show its help: ${help.shown.slice(0, 200)}`);
      assertNoErrorsSince(before, type);
    });
  });

  for (const example of examples) {
    it(`imports examples/${example} through the Import menu and deploys it without errors`, async () => {
      const page = editor.page;
      await resetFlows(page, nodeRed?.url ?? '');
      const before = mark();
      const flowJson = fs.readFileSync(path.join(examplesDir, example), 'utf8');
      await importThroughMenu(page, flowJson);
      await deploy(page);
      await waitForLog(nodeRed, before.log, 'Started flows', 30000);
      await new Promise((resolve) => setTimeout(resolve, STARTUP_OBSERVATION_MS));
      assertNoErrorsSince(before, `examples/${example}`);
      if (example === screenshotExample) {
        const flowTab = (JSON.parse(flowJson) as Array<{ id: string; type: string }>).find((n) => n.type === 'tab');
        if (flowTab) await showFlow(page, flowTab.id);
        await frameCurrentFlow(page, 'm2m');
        fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
        await page.screenshot({ path: SCREENSHOT });
      }
    });
  }
});

function waitForLog(nodeRed: RunningNodeRed | undefined, from: number, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const poll = (): void => {
      if (nodeRed?.log.slice(from).some((line) => line.includes(text))) resolve();
      else if (Date.now() > deadline) reject(new Error(`the runtime never logged "${text}":\n${nodeRed?.log.slice(from).join('\n')}`));
      else setTimeout(poll, 50);
    };
    poll();
  });
}
