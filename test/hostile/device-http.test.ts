import assert from 'assert';
import fs from 'fs';
import path from 'path';
import type { NodeMessage } from '../../nodes/shared/node-red';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import { catchNode, coreNode, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { deepArrayJson, deepJson } from './payloads';
import { CrashWatch } from './watch';

// issue 9, defect 3: one HTTP request posted to the shipped device-registry example ended Node-RED.

interface Response {
  status: number;
  body: { code?: string; error?: string; id?: string };
}
type Request = (app: unknown) => { post(url: string): { set(h: string, v: string): { send(body: string): Promise<Response> } } };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const request = require('supertest') as Request;

const EXAMPLE = path.join(__dirname, '../../examples/device-registry.json');
// the MQTT heartbeat part needs a broker; its Catch node goes too (the test helper loads the catch module once per node)
const HEARTBEAT_PART = new Set(['mqtt in', 'mqtt-broker', 'm2m.ex.registry.catch2']);

let httpApp: unknown;
const captureHttpApp: NodeModule = (RED) => {
  httpApp = (RED as unknown as { httpNode: unknown }).httpNode;
};

/** The example as shipped, with a memory store and without its MQTT heartbeat input. */
function exampleFlow(): FlowNode[] {
  return (JSON.parse(fs.readFileSync(EXAMPLE, 'utf8')) as FlowNode[])
    .filter((node) => !HEARTBEAT_PART.has(node.type) && !HEARTBEAT_PART.has(node.id))
    .map((node) => {
      if (node.type === 'm2m-registry') return { ...node, name: `hostile-${process.pid}`, storeType: 'memory' };
      if (node.type === 'debug') return { id: node.id, type: 'helper', z: node.z };
      return node;
    });
}

const MODULES = [
  registryNode as NodeModule,
  deviceNode as NodeModule,
  catchNode,
  coreNode('network/21-httpin.js'),
  coreNode('function/15-change.js'),
  coreNode('common/90-comment.js'),
  captureHttpApp,
];

describe('hostile input: HTTP into the device-registry example', function () {
  this.timeout(20_000);
  const watch = new CrashWatch();
  before(() => watch.install());
  after(() => watch.remove());
  beforeEach(() => helper.load(MODULES, exampleFlow()));
  afterEach(() => helper.unload());

  const post = (body: string): Promise<Response> => watch.race(request(httpApp).post('/devices').set('content-type', 'application/json').send(body));

  let serial = 0;
  for (const [name, body] of [
    ['an object nested 3,000 deep (18 KB)', deepJson(3000)],
    ['arrays nested 3,000 deep', `{"id":"d1","type":"sensor","attributes":{"x":${deepArrayJson(3000)}}}`],
  ]) {
    it(`${name} is answered 400 PAYLOAD_TOO_DEEP and the API keeps working`, async () => {
      const bad = await post(body);
      assert.strictEqual(bad.status, 400);
      assert.strictEqual(bad.body.code, 'PAYLOAD_TOO_DEEP');
      const id = `after-${++serial}`;
      const good = await post(JSON.stringify({ id, type: 'sensor' }));
      assert.strictEqual(good.status, 201, JSON.stringify(good.body));
      assert.strictEqual(good.body.id, id);
      watch.assertClean();
    });
  }

  it('a message whose other property is deep still reaches the Catch node with a code', async () => {
    const caught: NodeMessage[] = [];
    helper.getNode('m2m.ex.registry.errstatus').on('input', (msg) => caught.push(msg));
    helper.getNode('m2m.ex.registry.register').receive({ payload: { id: 'x' }, extra: JSON.parse(deepJson(3000)) as unknown });
    await watch.race(waitFor(() => caught.length > 0, 'the error at the Catch node'));
    assert.strictEqual((caught[0]?.error as { code?: string } | undefined)?.code, 'PAYLOAD_TOO_DEEP');
    watch.assertClean();
  });
});
