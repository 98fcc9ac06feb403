import assert from 'assert';
import { catchNode, helper, nextMessages, type FlowNode, type NodeModule } from '../helpers/node-red';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import { MemoryStore } from '../../lib/registry/stores/memory';

const MODULES = [registryNode as NodeModule, deviceNode as NodeModule, catchNode];

function flow(extra: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: 'reg-cred', type: 'm2m-registry', name: `reg-${Math.random().toString(36).slice(2)}`, storeType: 'memory', offlineTimeout: 60, deviceTypes: '[]' },
    { id: 'dev', type: 'm2m-device', z: 'f1', registry: 'reg-cred', operation: 'verify', issueToken: true, ...extra, wires: [['out'], []] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'f1', type: 'tab' },
  ];
}

async function issueToken(id: string): Promise<string> {
  const issued = nextMessages(helper.getNode('out'));
  helper.getNode('dev').receive({ operation: 'register', payload: { id } });
  return (await issued)[0].token as string;
}

describe('m2m-device verify: the plaintext token', () => {
  afterEach(async () => {
    await helper.unload();
    MemoryStore.forget('reg-cred');
  });

  it('is gone from the message after a verify, whether it came in msg.token or msg.payload.token', async () => {
    await helper.load(MODULES, flow({ resultTo: 'auth' }));
    const token = await issueToken('gw-1');

    let out = nextMessages(helper.getNode('out'));
    helper.getNode('dev').receive({ deviceId: 'gw-1', token });
    let [msg] = await out;
    assert.deepStrictEqual(msg.auth, { deviceId: 'gw-1', verified: true });
    assert.ok(!('token' in msg), 'msg.token is removed');

    out = nextMessages(helper.getNode('out'));
    helper.getNode('dev').receive({ deviceId: 'gw-1', payload: { token, reading: 21 } });
    [msg] = await out;
    assert.deepStrictEqual(msg.auth, { deviceId: 'gw-1', verified: true });
    assert.deepStrictEqual(msg.payload, { reading: 21 }, 'msg.payload.token is removed, the rest kept');
  });

  it('does not reach a Catch node when the verify fails', async () => {
    await helper.load(MODULES, flow());
    const token = await issueToken('gw-2');
    const caught = nextMessages(helper.getNode('caught'));
    helper.getNode('dev').receive({ deviceId: 'not/an/id', token });
    const [msg] = await caught;
    assert.strictEqual((msg.error as { code?: string }).code, 'INVALID_DEVICE_ID');
    assert.ok(!('token' in msg));
  });
});
