// The editor's words go through i18n: every key a node's .html (or the sidebar plugin) asks for is in its
// catalog, nodes/<type>/locales/en-US/<type>.json, so no dialog shows a raw key.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { NODES_DIR } from './editor';

const NAMESPACE = '@m2mflow/node-red-m2m/';

function catalog(set: string): Record<string, unknown> | undefined {
  const file = path.join(NODES_DIR, set, 'locales', 'en-US', `${set}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : undefined;
}

function has(messages: Record<string, unknown> | undefined, key: string): boolean {
  let at: unknown = messages;
  for (const part of key.split('.')) {
    if (at === null || typeof at !== 'object' || !(part in at)) return false;
    at = (at as Record<string, unknown>)[part];
  }
  return typeof at === 'string';
}

/** The keys an editor file asks for, as [node set, key]: data-i18n, this._/node._, RED._ with a namespace, t(…). */
function keysOf(set: string, html: string): Array<[string, string]> {
  const keys: Array<[string, string]> = [];
  for (const m of html.matchAll(/data-i18n="(?:\[[a-z]+\])?([^"]+)"/g)) if (!m[1].includes(':')) keys.push([set, m[1]]);
  for (const m of html.matchAll(/\b(?:this|node)\._\('([^']+)'/g)) keys.push([set, m[1]]);
  for (const m of html.matchAll(/RED\._\('([^':]+):([^']+)'/g)) {
    if (m[1].startsWith(NAMESPACE) && !m[2].endsWith('.')) keys.push([m[1].slice(NAMESPACE.length), m[2]]); // not a shorthand's prefix
  }
  // a file's own shorthand: function t(key) { return RED._('<namespace>:<prefix>' + key …) }, called with literal keys
  const shorthand = /function t\(key(?:, params)?\) \{ return RED\._\('([^':]+):([^']*)' \+ key/.exec(html);
  if (shorthand) {
    const target = shorthand[1].slice(NAMESPACE.length);
    for (const m of html.matchAll(/\bt\('([^']+)'(?:\)|,)/g)) keys.push([target, shorthand[2] + m[1]]);
  }
  return keys;
}

describe('editor strings through i18n', () => {
  for (const set of fs.readdirSync(NODES_DIR).filter((d) => fs.existsSync(path.join(NODES_DIR, d, `${d}.html`)))) {
    it(`${set}: every key its editor asks for is in locales/en-US`, () => {
      const html = fs.readFileSync(path.join(NODES_DIR, set, `${set}.html`), 'utf8');
      const missing = keysOf(set, html)
        .filter(([owner, key]) => !has(catalog(owner), key))
        .map(([owner, key]) => `${owner}: ${key}`);
      assert.deepStrictEqual(missing, []);
    });
  }

  it('the sidebar plugin and the rule list rows use their catalogs', () => {
    const sidebar = fs.readFileSync(path.join(NODES_DIR, 'm2m-sidebar', 'm2m-sidebar.html'), 'utf8');
    const rule = fs.readFileSync(path.join(NODES_DIR, 'm2m-rule', 'm2m-rule.html'), 'utf8');
    assert.ok(keysOf('m2m-sidebar', sidebar).length > 40, 'sidebar words come from m2m-sidebar.json');
    assert.ok(keysOf('m2m-rule', rule).filter(([, key]) => /^m2m-rule\.(op|row|scope|placeholder)\./.test(key)).length >= 15, 'rule rows');
    for (const english of ["'No active alarms.'", "'rate of change above'", "'all devices'", "'search id or name'"]) {
      assert.ok(!sidebar.includes(english) && !rule.includes(english), `${english} is in a catalog, not in the code`);
    }
  });
});
