// Where a node's help lives (nodes/<type>/locales/en-US/<type>.html) and its markdown, for the help tests.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { NODES_DIR } from './editor';

export function helpFile(type: string): string {
  return path.join(NODES_DIR, type, 'locales', 'en-US', `${type}.html`);
}

/** The markdown inside the help file's script block. */
export function helpMarkdown(type: string): string {
  const text = fs.readFileSync(helpFile(type), 'utf8');
  const m = new RegExp(`<script type="text/markdown" data-help-name="${type}">\\n([\\s\\S]*?)</script>`).exec(text);
  assert.ok(m, `${helpFile(type)} holds <script type="text/markdown" data-help-name="${type}">`);
  return m[1];
}
