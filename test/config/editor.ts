// The editor side of node configs, run outside a browser: each node's .html registration evaluated with a stub RED
// (its defaults), and the generated editor script (resources/m2m-config.js) with stub jQuery fields.
import fs from 'fs';
import path from 'path';
import vm from 'vm';
import { editorScript, loadNodeConfigs } from '../../lib/config/editor-script';

export const NODES_DIR = path.join(__dirname, '../../nodes');

export interface EditorDefinition {
  category?: string;
  defaults: Record<string, { value: unknown; type?: string }>;
  oneditprepare?: (this: Record<string, unknown>) => void;
}

/** Each node type registered by nodes/<type>/<type>.html, as its definition object. */
export function editorDefinitions(): Map<string, EditorDefinition> {
  const definitions = new Map<string, EditorDefinition>();
  const validator = (): (() => boolean) => () => true;
  const RED = {
    nodes: { registerType: (type: string, def: EditorDefinition) => definitions.set(type, def) },
    validators: { number: validator, regex: validator, typedInput: validator },
    _: (key: string) => key,
  };
  // Each .html loads the generated resources/m2m-config.js first (its validators and constants)
  const window: { M2M_CONFIG?: unknown } = {};
  vm.runInNewContext(editorScript(loadNodeConfigs(NODES_DIR)), { window, $: () => ({}), RED });
  for (const type of fs.readdirSync(NODES_DIR)) {
    const file = path.join(NODES_DIR, type, `${type}.html`);
    if (!fs.existsSync(file)) continue;
    const html = fs.readFileSync(file, 'utf8');
    for (const [, code] of html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)) {
      if (!code.includes('RED.nodes.registerType')) continue; // the sidebar is an editor plugin, with no saved config
      vm.runInNewContext(code, { RED, $: () => ({}), window, M2M_CONFIG: window.M2M_CONFIG }, { filename: file });
    }
  }
  return definitions;
}

interface EditorConfigApi {
  migrate(type: string, config: Record<string, unknown>): { from?: number; to?: number; error?: string };
  prepare(node: Record<string, unknown>): { from?: number; to?: number; error?: string };
}

export interface EditorSandbox {
  api: EditorConfigApi;
  /** Values of the dialog's fields, by element id, as prepare() left them. */
  fields: Map<string, unknown>;
  notified: string[];
  dirty: boolean[];
}

/** The editor script the build generates from nodes/<type>/config.ts, evaluated with stub jQuery and RED. */
export function editorSandbox(fields = new Map<string, unknown>()): EditorSandbox {
  const notified: string[] = [];
  const dirty: boolean[] = [];
  const $ = (selector: string) => {
    const id = selector.replace(/^#/, '');
    return {
      length: fields.has(id) ? 1 : 0,
      attr: () => (typeof fields.get(id) === 'boolean' ? 'checkbox' : 'text'),
      val: (value: unknown) => fields.set(id, String(value)),
      prop: (_name: string, value: unknown) => fields.set(id, value),
    };
  };
  const window: { M2M_CONFIG?: EditorConfigApi } = {};
  const RED = { notify: (text: string) => notified.push(text), nodes: { dirty: (d: boolean) => dirty.push(d) } };
  vm.runInNewContext(editorScript(loadNodeConfigs(NODES_DIR)), { window, $, RED });
  return { api: window.M2M_CONFIG as EditorConfigApi, fields, notified, dirty };
}
