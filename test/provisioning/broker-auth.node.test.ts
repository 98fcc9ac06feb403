import assert from 'assert';
import fs from 'fs';
import path from 'path';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { MemoryStore } from '../../lib/registry/stores/memory';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import { catchNode, coreNode, helper, type FlowNode, type NodeModule } from '../helpers/node-red';

interface Response {
  status: number;
  body: { result?: string; ok?: boolean; is_superuser?: boolean };
}
type Request = (app: unknown) => { post(url: string): { set(h: string, v: string): { send(body: string): Promise<Response> } } };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const request = require('supertest') as Request;

const EXAMPLE = path.join(__dirname, '../../examples/broker-auth.json');
const REGISTRY = 'm2m.ex.auth.registry';
let httpApp: unknown;
const captureHttpApp: NodeModule = (RED) => {
  httpApp = (RED as unknown as { httpNode: unknown }).httpNode;
};
const MODULES = [
  registryNode as NodeModule,
  deviceNode as NodeModule,
  catchNode,
  captureHttpApp,
  ...['network/21-httpin.js', 'function/15-change.js', 'function/10-switch.js', 'common/20-inject.js', 'common/90-comment.js'].map(coreNode),
];

function exampleFlow(): FlowNode[] {
  return (JSON.parse(fs.readFileSync(EXAMPLE, 'utf8')) as FlowNode[]).map((node) => {
    if (node.type === 'm2m-registry') return { ...node, storeType: 'memory' };
    if (node.type === 'debug') return { id: node.id, type: 'helper', z: node.z };
    return node;
  });
}

describe('examples/broker-auth.json', function () {
  this.timeout(20_000);
  let token = '';
  beforeEach(async () => {
    MemoryStore.forget(REGISTRY);
    await helper.load(MODULES, exampleFlow());
    const registry = (helper.getNode(REGISTRY) as unknown as { registry: DeviceRegistryApi }).registry;
    await registry.ready();
    token = (await registry.register({ id: 'meter-1' }, { issueToken: true })).token as string;
    await registry.register({ id: 'meter-2' });
  });
  afterEach(async () => {
    await helper.unload();
    MemoryStore.forget(REGISTRY);
  });

  const ask = (body: unknown, type = 'application/json'): Promise<Response> =>
    request(httpApp)
      .post('/mqtt/auth')
      .set('content-type', type)
      .send(type === 'application/json' ? JSON.stringify(body) : new URLSearchParams(body as Record<string, string>).toString());

  it('EMQX and mosquitto-go-auth (JSON or form): the right credential is allowed', async () => {
    for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
      const answer = await ask({ username: 'meter-1', password: token, clientid: 'meter-1' }, type);
      assert.deepStrictEqual([answer.status, answer.body.result, answer.body.ok, answer.body.is_superuser], [200, 'allow', true, false], type);
    }
  });

  it('a wrong password, an unknown device, a device without a credential, no password, a username that is no device id: the same deny', async () => {
    const bodies = [
      { username: 'meter-1', password: 'wrong', clientid: 'meter-1' },
      { username: 'nobody', password: token, clientid: 'x' },
      { username: 'meter-2', password: token, clientid: 'meter-2' },
      { username: 'meter-1', clientid: 'meter-1' },
      { username: 'a/#', password: token, clientid: 'x' },
      {},
    ];
    for (const body of bodies) {
      const answer = await ask(body);
      assert.deepStrictEqual(
        [answer.status, answer.body],
        [200, { result: 'deny', is_superuser: false, ok: false, error: 'not authorized' }],
        JSON.stringify(body),
      );
    }
  });
});
