// Preloaded by test-nr5.sh: makes every `node-red` and `@node-red/*` require (core nodes loaded by tests,
// @node-red/util) resolve inside compat/nr5, so a test never mixes Node-RED 4.1 code into a Node-RED 5 run.
const Module = require('module');
const path = require('path');

const nr5Modules = path.join(__dirname, '..', 'compat', 'nr5', 'node_modules');
const NODE_RED_REQUEST = /^(node-red|@node-red\/[^/]+)(\/.*)?$/;
const originalResolve = Module._resolveFilename;

Module._resolveFilename = function (request, parent, isMain, options) {
  if (NODE_RED_REQUEST.test(request)) {
    return originalResolve.call(this, request, parent, isMain, { ...options, paths: [nr5Modules] });
  }
  return originalResolve.call(this, request, parent, isMain, options);
};
