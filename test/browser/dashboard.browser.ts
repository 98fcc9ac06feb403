// The operator console (examples/operator-console.json) beside the plant demo on FlowFuse Dashboard 2.0, in
// Chromium: the alarm list and device table of the running demo at /dashboard, an ack there reaching the rule
// and a debug node, and device and alarm texts with markup shown as text. Skips without Chromium or the
// dashboard package, except when CI=true. Saves docs/operator-console.png (on Node-RED 4).
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import type { Browser, Page } from 'playwright-core';
import { startAedes, type TestBroker } from '../helpers/services';
import { PACKAGE_ROOT, startNodeRed, type RunningNodeRed } from './support/node-red-process';
import { CHROMIUM, chromiumInstalled, launchChromium, openEditor, type EditorSession } from './support/editor';

const XSS_NAME = '<img src=x onerror="window.__xss=1">';
const XSS_RULE = '<script>window.__xss=2</script>';
const XSS_TEXT = '{{7*7}} <img src=x onerror="window.__xss=3">';
const SCREENSHOT = path.join(PACKAGE_ROOT, 'docs', 'operator-console.png');
const expectedMajor = Number(process.env.M2M_EXPECT_NR_MAJOR ?? 4);
const dashboardInstalled = (): boolean => fs.existsSync(path.join(PACKAGE_ROOT, 'node_modules', '@flowfuse', 'node-red-dashboard', 'package.json'));
const widgetsBuilt = (): boolean => fs.existsSync(path.join(PACKAGE_ROOT, 'resources', 'ui-m2m-alarms.umd.js'));

interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

const example = (file: string): FlowNode[] => JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', file), 'utf8')) as FlowNode[];

/** The plant demo and the operator console as npm start deploys them, on this test's broker, plus hostile names. */
function demoFlows(brokerPort: number): FlowNode[] {
  const seen = new Set<string>();
  const flows = [...example('plant-monitoring.json'), ...example('operator-console.json')].filter((n) => !seen.has(n.id) && seen.add(n.id));
  const hostile: FlowNode[] = [
    {
      id: 'xss.device',
      type: 'inject',
      z: 'ops.tab',
      x: 100,
      y: 700,
      props: [{ p: 'payload' }, { p: 'deviceId', v: 'evil-1', vt: 'str' }],
      payload: JSON.stringify({ id: 'evil-1', name: XSS_NAME }),
      payloadType: 'json',
      repeat: '',
      once: true,
      onceDelay: 0.5,
      wires: [['xss.register']],
    },
    { id: 'xss.register', type: 'm2m-device', z: 'ops.tab', x: 300, y: 700, registry: 'plant.registry', operation: 'register', upsert: true, wires: [[], []] },
    {
      id: 'xss.alarm',
      type: 'inject',
      z: 'ops.tab',
      x: 100,
      y: 760,
      props: [{ p: 'payload' }],
      repeat: '',
      once: true,
      onceDelay: 1,
      wires: [['ops.alarms']],
      payloadType: 'json',
      payload: JSON.stringify({
        event: 'raised',
        severity: 'critical',
        deviceId: 'evil-1',
        rule: XSS_RULE,
        text: XSS_TEXT,
        metric: 'm',
        value: '<b>v</b>',
        active: true,
        acknowledged: false,
        raisedAt: Date.now(),
        ts: Date.now(),
      }),
    },
  ];
  return [...flows, ...hostile].map((n) => {
    if (n.type === 'mqtt-broker') return { ...n, broker: '127.0.0.1', port: String(brokerPort), protocolVersion: '4' };
    if (n.id === 'ops.debug.alarms') return { ...n, console: true };
    return n;
  });
}

describe('the operator console on Dashboard 2.0 in Chromium', function () {
  this.timeout(180000);
  let broker: TestBroker | undefined;
  let nodeRed: RunningNodeRed | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let editor: EditorSession;
  const pageErrors: string[] = [];
  const sidebar = (): ReturnType<Page['locator']> => editor.page.locator('.m2m-sidebar');

  before(async function () {
    const missing = !chromiumInstalled()
      ? `${CHROMIUM} is missing`
      : !dashboardInstalled()
        ? '@flowfuse/node-red-dashboard is not installed'
        : !widgetsBuilt()
          ? 'the widgets are not built (npm run build)'
          : undefined;
    if (missing) {
      if (process.env.CI === 'true') throw new Error(`dashboard browser test cannot run: ${missing}`);
      console.log(`    dashboard browser test skipped: ${missing}`);
      this.skip();
    }
    broker = await startAedes();
    nodeRed = await startNodeRed();
    const res = await fetch(`${nodeRed.url}/flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(demoFlows(broker.port)),
    });
    assert.strictEqual(res.status, 204, await res.text());
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(20000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('dialog', (dialog) => {
      pageErrors.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(`${nodeRed.url}/dashboard`);
    // the engineer's view of the same running demo: the editor with its M2M sidebar open
    editor = await openEditor(browser, nodeRed.url);
    await editor.page.evaluate("RED.sidebar.show('m2m')");
  });

  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
    await broker?.close();
  });

  it('shows the machines of the running demo in the device table, with their online state', async () => {
    await page.locator('.m2m-devices .m2m-device-row[data-device="machine-001"]').waitFor();
    await page.waitForFunction(() =>
      /of 21$/.test(
        (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document.querySelector(
          '.m2m-devices .m2m-page-info',
        )?.textContent ?? '',
      ),
    );
    await page.locator('.m2m-devices .m2m-device-row[data-device="machine-001"][data-online="true"]').waitFor();
  });

  it("the editor's M2M sidebar lists the machines of the running demo", async () => {
    await sidebar().locator('.m2m-device-row[data-device="machine-001"]').waitFor();
    assert.ok((await sidebar().locator('.m2m-device-row').count()) >= 10, "the demo's machines are listed");
  });

  it('shows the alarm list; device names, rule names and alarm texts with markup show as text', async () => {
    const evil = page.locator('.m2m-alarm-row[data-device="evil-1"]');
    await evil.waitFor();
    assert.strictEqual(
      await evil.locator('.m2m-rule').evaluate((el) => (el as unknown as { firstChild: { textContent: string } }).firstChild.textContent),
      XSS_RULE,
    );
    assert.strictEqual(await evil.locator('.m2m-text').textContent(), XSS_TEXT);
    assert.strictEqual(await evil.locator('.m2m-value').textContent(), '<b>v</b>');
    assert.strictEqual(await page.locator('.m2m-device-row[data-device="evil-1"] .m2m-name').textContent(), XSS_NAME);
    assert.strictEqual(
      await page.locator('.m2m-alarms img, .m2m-alarms script, .m2m-alarms b, .m2m-devices img').count(),
      0,
      'no element was made from a text',
    );
    assert.strictEqual(await page.evaluate('window.__xss'), undefined, 'no script from a text ran');
  });

  it('a machine that stops reporting raises its alarm live; ack there turns the row acknowledged and the event reaches the debug node', async () => {
    assert.strictEqual((await fetch(`${nodeRed?.url}/inject/plant.inject.offline`, { method: 'POST' })).status, 200);
    const row = page.locator('.m2m-alarm-row[data-device="machine-007"][data-rule="sensor-stale"]');
    await row.waitFor({ timeout: 40000 });
    assert.strictEqual(await row.getAttribute('data-state'), 'unacknowledged');
    // the editor's sidebar shows it too, without a click: a live update
    await sidebar().locator('.m2m-tab[data-section="alarms"]').click();
    await editor.page.waitForSelector('.m2m-alarm[data-device="machine-007"][data-state="unacknowledged"]', { timeout: 10000 });
    // a row click selects the machine: its chart, and the fan buttons command it and show how it ended
    await page.locator('.m2m-device-row[data-device="machine-003"]').click();
    await page.locator('.m2m-device-row.m2m-selected[data-device="machine-003"]').waitFor();
    await page.getByRole('button', { name: 'Fan on' }).click();
    await page.getByText(/machine-003 fan done in \d+ ms/).waitFor();
    // only for the picture: a few seconds of the machine's temperature on the chart
    if (expectedMajor === 4) await page.waitForTimeout(6000);
    if (expectedMajor === 4) await page.screenshot({ path: SCREENSHOT, fullPage: true });

    const logMark = nodeRed?.log.length ?? 0;
    await row.locator('.m2m-ack').click();
    await page.locator('.m2m-alarm-row[data-device="machine-007"][data-rule="sensor-stale"][data-state="acknowledged"]').waitFor();
    await editor.page.waitForSelector('.m2m-alarm[data-device="machine-007"][data-state="acknowledged"]', { timeout: 10000 });
    const deadline = Date.now() + 10000;
    while (!/event: 'acknowledged'[\s\S]*deviceId: 'machine-007'[\s\S]*by: 'dashboard'/.test(nodeRed?.log.slice(logMark).join('\n') ?? '')) {
      if (Date.now() > deadline) assert.fail(`the debug node never logged the acknowledged event:\n${nodeRed?.log.slice(logMark).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepStrictEqual(pageErrors, []);
    assert.deepStrictEqual(editor.consoleErrors, []);
  });
});
