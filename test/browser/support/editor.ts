// Drives the Node-RED editor in Chromium the way a user does: palette, edit dialog, help sidebar, the
// Import menu and the Deploy button. Functions passed to page.evaluate run in the browser, so they use
// only the editor's own globals (typed here as EditorGlobals) and no helpers from this file.
import fs from 'fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

interface EditorNode {
  id: string;
  type: string;
  z?: string;
  x: number;
  y: number;
  valid?: boolean;
  validationErrors?: string[];
}

/** The slice of the editor's browser globals these tests touch. */
interface EditorGlobals {
  RED: {
    nodes: {
      getType(type: string): { category?: string } | undefined;
      getNodeHelp(type: string): string | undefined;
      dirty(): boolean;
      node(id: string): EditorNode | undefined;
      eachNode(cb: (n: EditorNode) => void): void;
      eachConfig(cb: (n: EditorNode) => void): void;
    };
    view: {
      importNodes(nodes: object[], options: object): void;
      select(ids: string | string[]): void;
      scale(): number;
    };
    actions: { invoke(name: string, ...args: unknown[]): void };
    editor: { editConfig(name: string, type: string, id: string): void };
    workspaces: { active(): string; show(id: string): void };
  };
  $(html: string): { html(content: string): { text(): string } };
  document: {
    querySelector(selector: string): { textContent: string | null; closest(selector: string): { textContent: string | null } | null } | null;
    querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }>;
  };
}

export const chromiumInstalled = (): boolean => fs.existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface EditorSession {
  page: Page;
  /** Console errors and uncaught exceptions seen in the page so far. */
  consoleErrors: string[];
}

export async function openEditor(browser: Browser, url: string): Promise<EditorSession> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.setDefaultTimeout(15000);
  // tsx compiles named functions with a `__name` helper that the browser lacks.
  await page.addInitScript('window.__name = (f) => f;');
  const consoleErrors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  // Chromium's console line for a failed load omits the URL; record it here.
  page.on('requestfailed', (req) => consoleErrors.push(`request failed: ${req.url()} (${req.failure()?.errorText ?? 'unknown'})`));
  // Leaving an editor with undeployed changes asks "leave the page?"; the reset between examples says yes.
  page.on('dialog', (dialog) => void (dialog.type() === 'beforeunload' ? dialog.accept() : dialog.dismiss()));
  await page.goto(url);
  await waitForEditorReady(page);
  return { page, consoleErrors };
}

export async function waitForEditorReady(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const { RED, document } = globalThis as unknown as EditorGlobals;
    return Boolean(RED?.workspaces?.active?.() && document.querySelector('#red-ui-palette-container .red-ui-palette-node'));
  });
}

/** Node types shown in one palette category, in palette order. */
export function paletteTypes(page: Page, category: string): Promise<string[]> {
  return page.evaluate((cat) => {
    const { document } = globalThis as unknown as EditorGlobals;
    const found = document.querySelectorAll(`#red-ui-palette-container-${cat} .red-ui-palette-node[data-palette-type]`);
    return Array.from(found, (el) => el.getAttribute('data-palette-type') ?? '');
  }, category);
}

/** Whether the editor knows the type as a config node, as a palette node, or not at all. */
export function nodeKind(page: Page, type: string): Promise<'config' | 'palette' | 'unknown'> {
  return page.evaluate((t) => {
    const def = (globalThis as unknown as EditorGlobals).RED.nodes.getType(t);
    if (!def) return 'unknown';
    return def.category === 'config' ? 'config' : 'palette';
  }, type);
}

/** Puts one node of `type` on the current flow and returns the centre of it on screen. */
export async function placeNode(page: Page, type: string, id: string): Promise<{ x: number; y: number }> {
  await page.evaluate(
    ({ t, nodeId }) => {
      const { RED } = globalThis as unknown as EditorGlobals;
      RED.view.importNodes([{ id: nodeId, type: t, x: 300, y: 200, z: RED.workspaces.active(), wires: [] }], {
        touchImport: true,
        notify: false,
        applyNodeDefaults: true,
      });
    },
    { t: type, nodeId: id },
  );
  const box = await page.locator(`g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`).boundingBox();
  if (!box) throw new Error(`${type}: the node did not appear on the canvas`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Double clicks the node, checks the edit tray shows a form, and returns the form's field ids. */
export async function openEditDialog(page: Page, at: { x: number; y: number }): Promise<string[]> {
  await page.mouse.dblclick(at.x, at.y);
  return editTrayFieldIds(page);
}

/** Opens a config node's edit dialog, as its pencil button on a node's property does. */
export async function openConfigEditDialog(page: Page, type: string): Promise<string[]> {
  await page.evaluate((t) => (globalThis as unknown as EditorGlobals).RED.editor.editConfig('', t, '_ADD_'), type);
  return editTrayFieldIds(page);
}

async function editTrayFieldIds(page: Page): Promise<string[]> {
  const tray = page.locator('.red-ui-tray').last();
  await tray.locator('#node-dialog-ok, #node-config-dialog-ok').first().waitFor({ state: 'visible' });
  const fields = tray.locator('.red-ui-tray-body [id^="node-input-"], .red-ui-tray-body [id^="node-config-input-"]');
  // The tray opens before the form template is rendered into it; an empty form stays empty.
  await fields
    .first()
    .waitFor({ state: 'attached', timeout: 5000 })
    .catch(() => undefined);
  return fields.evaluateAll((els) => els.map((el) => el.id));
}

export async function cancelEditDialog(page: Page): Promise<void> {
  await page.locator('.red-ui-tray').last().locator('#node-dialog-cancel, #node-config-dialog-cancel').first().click();
  await page.locator('.red-ui-tray').waitFor({ state: 'detached' });
}

/** Shows a node type's help in the Help sidebar tab and returns the text the tab displays. */
export async function helpSidebarText(page: Page, type: string): Promise<{ shown: string; expected: string }> {
  const expected = await page.evaluate((t) => {
    const { RED, $ } = globalThis as unknown as EditorGlobals;
    return $('<div>')
      .html(RED.nodes.getNodeHelp(t) ?? '')
      .text();
  }, type);
  await page.evaluate((t) => (globalThis as unknown as EditorGlobals).RED.actions.invoke('core:show-help-tab', t), type);
  const help = page.locator('.red-ui-sidebar-help-stack .red-ui-help').first();
  await help.waitFor({ state: 'visible' });
  return { shown: (await help.innerText()).trim(), expected };
}

/** Imports flow JSON through the editor's menu: Menu > Import, paste, Import, then click to drop it. */
export async function importThroughMenu(page: Page, flowJson: string): Promise<void> {
  await page.locator('#red-ui-header-button-sidemenu').click();
  await page.locator('#menu-item-import').click();
  const text = page.locator('#red-ui-clipboard-dialog-import-text');
  await text.waitFor({ state: 'visible' });
  await text.fill(flowJson);
  await text.press('End'); // the dialog validates the JSON on keyup
  await page.locator('#red-ui-clipboard-dialog-ok').click();
  await page.locator('#red-ui-clipboard-dialog-import-text').waitFor({ state: 'hidden' });
  // Imported nodes follow the mouse until a click drops them, as for a user.
  const chart = await page.locator('#red-ui-workspace-chart').boundingBox();
  if (!chart) throw new Error('the workspace is not visible');
  await page.mouse.move(chart.x + 120, chart.y + 80, { steps: 4 });
  await page.mouse.down();
  await page.mouse.up();
}

/** Clicks Deploy and waits until the editor reports the flows deployed; fails with the editor's reason if not. */
export async function deploy(page: Page): Promise<void> {
  await page.locator('#red-ui-header-button-deploy').click();
  const outcome = await page.waitForFunction(() => {
    const { RED, document } = globalThis as unknown as EditorGlobals;
    const confirm = document.querySelector('#red-ui-deploy-dialog-confirm-deploy-deploy');
    if (confirm) {
      const invalid: string[] = [];
      const collect = (n: EditorNode): void => {
        if (n.valid === false) invalid.push(`${n.type} ${n.id} (${(n.validationErrors ?? []).join(', ') || 'invalid'})`);
      };
      RED.nodes.eachConfig(collect);
      RED.nodes.eachNode(collect);
      const notice = confirm.closest('.red-ui-notification')?.textContent ?? '';
      return { deployed: false, reason: `${notice.trim()} ${invalid.join('; ')}` };
    }
    const button = document.querySelector('#red-ui-header-button-deploy.disabled');
    return button && !RED.nodes.dirty() ? { deployed: true, reason: '' } : null;
  });
  const { deployed, reason } = (await outcome.jsonValue()) as { deployed: boolean; reason: string };
  if (!deployed) throw new Error(`Deploy asked for confirmation: ${reason}`);
}

/** Shows the flow tab `tabId`, as a click on its tab does. */
export async function showFlow(page: Page, tabId: string): Promise<void> {
  await page.evaluate((id) => (globalThis as unknown as EditorGlobals).RED.workspaces.show(id), tabId);
}

/**
 * Readies the current flow for a screenshot: the palette filtered to this pack's nodes, the sidebar and
 * notifications out of the way, and zoomed out until every node of the flow fits the canvas.
 */
export async function frameCurrentFlow(page: Page, paletteFilter: string): Promise<void> {
  const filter = page.locator('#red-ui-palette-search input');
  await filter.pressSequentially(paletteFilter);
  await page.locator('#red-ui-palette-container .red-ui-palette-node[data-palette-type="inject"]').waitFor({ state: 'hidden' });
  // Emptied palette categories collapse with a jQuery animation.
  await page.waitForFunction(() => (globalThis as unknown as { $(selector: string): { length: number } }).$(':animated').length === 0);
  await page.evaluate(() => (globalThis as unknown as EditorGlobals).RED.actions.invoke('core:toggle-sidebar', false));
  await page.locator('#red-ui-sidebar').waitFor({ state: 'hidden' });
  await page.locator('.red-ui-notification').evaluateAll((notes) => notes.forEach((n) => n.remove()));
  for (let step = 0; step < 10; step++) {
    const fits = await page.evaluate(() => {
      const { RED, document } = globalThis as unknown as EditorGlobals;
      const z = RED.workspaces.active();
      let maxX = 0;
      let maxY = 0;
      RED.nodes.eachNode((n) => {
        if (n.z === z) {
          maxX = Math.max(maxX, n.x + 120);
          maxY = Math.max(maxY, n.y + 40);
        }
      });
      const area = document.querySelector('#red-ui-workspace-chart') as unknown as { clientWidth: number; clientHeight: number };
      const scale = RED.view.scale();
      return maxX * scale <= area.clientWidth && maxY * scale <= area.clientHeight;
    });
    if (fits) break;
    await page.evaluate(() => (globalThis as unknown as EditorGlobals).RED.actions.invoke('core:zoom-out'));
  }
  await page.locator('#red-ui-workspace-chart').evaluate((el) => el.scrollTo(0, 0));
}

/** Replaces the deployed flows with none, through the admin API, then reloads the editor. */
export async function resetFlows(page: Page, url: string): Promise<void> {
  const res = await fetch(`${url}/flows`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: '[]',
  });
  if (!res.ok) throw new Error(`resetting flows failed: ${res.status} ${await res.text()}`);
  await page.reload();
  await waitForEditorReady(page);
}
