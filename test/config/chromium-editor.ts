// Mocha hooks for a suite that drives the Node-RED editor in Chromium: Node-RED with this package started, the
// editor opened in Chromium, both closed after. Skips without Chromium, except when CI=true.
import type { Browser } from 'playwright-core';
import { CHROMIUM, chromiumInstalled, launchChromium, openEditor, type EditorSession } from '../browser/support/editor';
import { startNodeRed, type RunningNodeRed } from '../browser/support/node-red-process';

export interface EditorInChromium {
  readonly nodeRed: RunningNodeRed;
  readonly editor: EditorSession;
}

/**
 * Call inside a describe(). `beforeOpen` runs once Node-RED is up, before the editor opens (to save flows, …);
 * `open` opens the editor (openEditor unless given).
 */
export function useEditorInChromium(
  o: { beforeOpen?: (nodeRed: RunningNodeRed) => Promise<void>; open?: (browser: Browser, url: string) => Promise<EditorSession> } = {},
): EditorInChromium {
  let nodeRed: RunningNodeRed | undefined;
  let browser: Browser | undefined;
  let editor: EditorSession | undefined;
  before(async function () {
    if (!chromiumInstalled()) {
      if (process.env.CI === 'true') throw new Error(`Chromium is required when CI=true but ${CHROMIUM} is missing`);
      this.skip();
    }
    nodeRed = await startNodeRed();
    await o.beforeOpen?.(nodeRed);
    browser = await launchChromium();
    editor = await (o.open ?? openEditor)(browser, nodeRed.url);
  });
  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started yet`);
    return value;
  };
  return {
    get nodeRed() {
      return started(nodeRed, 'Node-RED');
    },
    get editor() {
      return started(editor, 'the editor');
    },
  };
}
