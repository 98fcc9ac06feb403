// Builds the Dashboard 2.0 widgets named in package.json "node-red-dashboard-2" (ui/ → resources/<widget>.umd.js),
// one vite build each: the dashboard wants one UMD library per widget, named after it.
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const widgets = Object.keys(require(path.join(root, 'package.json'))['node-red-dashboard-2'].widgets);

async function main() {
  const { build } = await import('vite');
  for (const widget of widgets) {
    process.env.M2M_WIDGET = widget;
    await build({ configFile: path.join(root, 'ui', 'vite.config.mjs'), root: path.join(root, 'ui') });
    // a generated bundle: the project's lint does not apply to it
    const out = path.join(root, 'resources', `${widget}.umd.js`);
    fs.writeFileSync(out, `/* eslint-disable */\n${fs.readFileSync(out, 'utf8')}`);
    console.log(`built resources/${widget}.umd.js`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
