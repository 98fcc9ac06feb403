// Compiles lib/ and nodes/ to dist/ and copies each node's editor files (.html, locales/, icons/) beside its .js,
// where Node-RED looks for them.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
const nodesDir = path.join(root, 'nodes');
for (const type of fs.readdirSync(nodesDir)) {
  const src = path.join(nodesDir, type);
  if (!fs.statSync(src).isDirectory()) continue;
  for (const entry of fs.readdirSync(src)) {
    if (entry.endsWith('.html') || entry === 'locales' || entry === 'icons') {
      fs.cpSync(path.join(src, entry), path.join(dist, 'nodes', type, entry), { recursive: true });
    }
  }
}
// The editor runs the same config migration steps as the runtime: generated from the compiled nodes/<type>/config.js
// into resources/, which Node-RED serves to the editor as resources/@m2mflow/node-red-m2m/.
const editor = require(path.join(dist, 'lib', 'config', 'editor-script.js'));
fs.mkdirSync(path.join(root, 'resources'), { recursive: true });
fs.writeFileSync(path.join(root, 'resources', editor.EDITOR_SCRIPT_FILE), editor.editorScript(editor.loadNodeConfigs(path.join(dist, 'nodes'))));
