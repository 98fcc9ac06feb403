// The help written once in nodes/<type>/locales/en-US/<type>.html, as Node-RED 4.1 (or 5) renders it in a real
// editor: markdown, its ': name (type) : text' lines as property lists, outputs as ports; and the editor's words and
// validator messages from the catalogs. Needs the build (dist/ and resources/). Skips without Chromium, except when
// CI=true.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import type { Browser } from 'playwright-core';
import { type EditorSession, waitForEditorReady } from '../browser/support/editor';
import { useEditorInChromium } from './chromium-editor';
import { helpFile, helpMarkdown } from './help';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };

/** openEditor, but the first load may take a minute: the editor's first page takes 13 s on a machine this busy. */
async function openEditorPatiently(browser: Browser, url: string): Promise<EditorSession> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.setDefaultTimeout(60_000);
  await page.addInitScript('window.__name = (f) => f;'); // tsx's helper for named functions, absent in the page
  const consoleErrors: string[] = [];
  page.on('console', (msg) => void (msg.type() === 'error' && consoleErrors.push(`console.error: ${msg.text()}`)));
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  await page.goto(url);
  await waitForEditorReady(page);
  return { page, consoleErrors };
}

interface Rendered {
  html: string;
  properties: number;
  dropped: string[];
  /** Each <dd>'s text, in order. */
  texts: string[];
}

/** A property line's text as the reader should see it: after `: name (type) :`, without markdown marks. */
function plain(text: string): string {
  return text.replace(/[`*]/g, '').replace(/\s+/g, ' ').trim();
}

describe('help and editor words in Chromium', function () {
  this.timeout(180_000);
  const session = useEditorInChromium({ open: openEditorPatiently });

  for (const type of Object.keys(pkg['node-red'].nodes)) {
    it(`${type}: the help is markdown, rendered with every property line as a <dt> and each output as a port`, async function () {
      if (!fs.existsSync(helpFile(type))) this.skip();
      const rendered = await session.editor.page.evaluate((t): Rendered => {
        const g = globalThis as unknown as {
          RED: { nodes: { getNodeHelp(type: string): string } };
          $: (html: string) => { find(s: string): { length: number; each(f: (i: number, el: { textContent: string | null }) => void): void } };
        };
        const html = g.RED.nodes.getNodeHelp(t);
        const root = g.$(`<div>${html}</div>`);
        // a property line the markdown did not take would show as text starting with ': '
        const dropped: string[] = [];
        root.find('p').each((_i, el) => {
          if (/(^|\n):\s/.test(el.textContent ?? '')) dropped.push((el.textContent ?? '').slice(0, 80));
        });
        const texts: string[] = [];
        root.find('dl.message-properties dd').each((_i, el) => void texts.push(el.textContent ?? ''));
        return { html, properties: root.find('dl.message-properties dt').length, dropped, texts };
      }, type);
      const lines = helpMarkdown(type)
        .split('\n')
        .filter((l) => l.startsWith(':'));
      assert.ok(rendered.html.length > 200, `${type}: the editor has its help`);
      assert.deepStrictEqual(rendered.dropped, [], `${type}: property lines shown as text`);
      assert.strictEqual(rendered.properties, lines.length, `${type}: one <dt> per property line`);
      // a colon inside a line's text makes the editor keep only what follows the last one
      const cut = lines
        .map((line, i) => ({ written: plain(/^:[^:\n]+\([^:\n]+\)[^:\n]*:(.*)$/.exec(line)?.[1] ?? ''), shown: plain(rendered.texts[i] ?? '') }))
        .filter(({ written, shown }) => written !== shown)
        .map(({ written, shown }) => {
          let at = 0;
          while (at < written.length && written[at] === shown[at]) at++;
          return `${written.slice(0, 40)}… differs at "${written.slice(at, at + 30)}", shown "${shown.slice(at, at + 30)}"`;
        });
      assert.deepStrictEqual(cut, [], `${type}: property text the editor shows cut short`);
    });
  }

  it('the editor reads its words from the catalogs, and a shared validator answers with a message', async () => {
    const words = await session.editor.page.evaluate(() => {
      const g = globalThis as unknown as {
        RED: { _(key: string): string };
        M2M_CONFIG: { validators: { deviceId(v: string): true | string }; constants: { deviceIdPattern: string } };
        $: (s: string) => { text(): string };
      };
      return {
        rateOp: g.RED._('@m2mflow/node-red-m2m/m2m-rule:m2m-rule.op.rate'),
        sidebarTab: g.RED._('@m2mflow/node-red-m2m/m2m-sidebar:m2m-sidebar.tab.alarms'),
        telemetryFormat: g.RED._('@m2mflow/node-red-m2m/m2m-telemetry:m2m-telemetry.format.senml'),
        idMessage: g.M2M_CONFIG.validators.deviceId('a/b'),
        pattern: g.M2M_CONFIG.constants.deviceIdPattern,
      };
    });
    assert.deepStrictEqual(words, {
      rateOp: 'rate of change above',
      sidebarTab: 'Alarms',
      telemetryFormat: 'SenML (RFC 8428, JSON or CBOR)',
      idMessage: '"/" is not allowed in a device id: only A-Z a-z 0-9 . _ : -',
      pattern: '^[A-Za-z0-9._:-]{1,128}$',
    });
    assert.deepStrictEqual(session.editor.consoleErrors, []);
  });
});
