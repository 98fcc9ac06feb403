// Proves which Node-RED runtime the node tests run on: 4.x under `npm run test:unit`, 5.x under
// `npm run test:nr5` (which sets M2M_EXPECT_NR_MAJOR=5), and that a core flow runs there.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { helper, nextMessages, type NodeModule } from '../helpers/node-red';

// The core nodes must come from the runtime under test, not from the project's Node-RED 4.1
// (test-nr5.sh redirects `@node-red/*` requests to Node-RED 5).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const injectNode = require('@node-red/nodes/core/common/20-inject.js') as NodeModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debugNode = require('@node-red/nodes/core/common/21-debug.js') as NodeModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const coreNodesVersion = (require('@node-red/nodes/package.json') as { version: string }).version;

const expectedMajor = Number(process.env.M2M_EXPECT_NR_MAJOR ?? '4');

// The helper hands nodes no RED.version(), so read the version of the runtime it was initialised with
// (the same path test/helpers/node-red.ts passes to helper.init).
function runtimeVersion(): string {
  const entry = process.env.M2M_NODE_RED ?? require.resolve('node-red');
  const manifest = path.join(path.dirname(entry), '..', 'package.json');
  return (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version;
}

const major = (version: string): number => Number(version.split('.')[0]);

describe('Node-RED runtime under test', () => {
  afterEach(() => helper.unload());

  it(`is Node-RED ${expectedMajor}.x, with core nodes of the same major`, () => {
    assert.strictEqual(major(runtimeVersion()), expectedMajor, `runtime version ${runtimeVersion()}`);
    assert.strictEqual(major(coreNodesVersion), expectedMajor, `core nodes version ${coreNodesVersion}`);
    // Node-RED 5 refuses to start on Node older than 22.9.
    if (expectedMajor >= 5) assert.ok(major(process.versions.node) >= 22, `Node ${process.versions.node}`);
  });

  it('runs a core inject -> debug flow and delivers the injected payload', async () => {
    const flow = [
      { id: 'inject1', type: 'inject', props: [{ p: 'payload' }], payload: '21.5', payloadType: 'num', wires: [['debug1', 'sink1']] },
      { id: 'debug1', type: 'debug', active: true, tosidebar: true, complete: 'payload', wires: [] },
      { id: 'sink1', type: 'helper' },
    ];
    await helper.load([injectNode, debugNode], flow);
    const atDebug = nextMessages(helper.getNode('debug1'));
    const atSink = nextMessages(helper.getNode('sink1'));
    helper.getNode('inject1').receive({});
    const [[debugMsg], [sinkMsg]] = await Promise.all([atDebug, atSink]);
    assert.strictEqual(debugMsg.payload, 21.5);
    assert.strictEqual(sinkMsg.payload, 21.5);
  });
});
