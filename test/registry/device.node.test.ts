import assert from 'assert';
import sinon from 'sinon';
import { catchNode, helper, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { nextMessage, registryNodeFlow } from '../helpers/node-flow';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import { MemoryStore } from '../../lib/registry/stores/memory';

const TYPES = JSON.stringify([{ name: 'freezer', offlineTimeoutMs: 10000, attributesSchema: { type: 'object', properties: { limit: { type: 'number' } } } }]);

function flow(operation: string, extra: Record<string, unknown> = {}): FlowNode[] {
  return registryNodeFlow(
    { id: 'reg', type: 'm2m-registry', name: `reg-${Math.random().toString(36).slice(2)}`, storeType: 'memory', offlineTimeout: 60, deviceTypes: TYPES },
    { id: 'dev', type: 'm2m-device', registry: 'reg', operation, autoRegister: true, ...extra },
  );
}

const MODULES = [registryNode as NodeModule, deviceNode as NodeModule, catchNode];

describe('m2m-device node', () => {
  // A memory registry is kept by node id across redeploys; another file's registry "reg" must not leak in.
  beforeEach(() => MemoryStore.forget('reg'));
  afterEach(async () => {
    sinon.restore();
    await helper.unload();
  });

  it('registers, gets, updates, lists and removes devices from messages', async () => {
    await helper.load(MODULES, flow('get'));
    const dev = helper.getNode('dev');
    const out = helper.getNode('out');

    let result = nextMessage(out);
    dev.receive({ operation: 'register', payload: { id: 'fz-1', type: 'freezer', attributes: { limit: -18 }, tags: ['cold'] }, keep: 'me' });
    let msg = await result;
    assert.strictEqual(msg.deviceId, 'fz-1');
    assert.strictEqual(msg.created, true);
    assert.strictEqual(msg.keep, 'me', 'the incoming message is kept');
    assert.strictEqual((msg.payload as { attributes: { limit: number } }).attributes.limit, -18);

    result = nextMessage(out);
    dev.receive({ deviceId: 'fz-1', operation: 'update', payload: { attributes: { limit: -20 } } });
    msg = await result;
    assert.strictEqual((msg.payload as { attributes: { limit: number } }).attributes.limit, -20);

    result = nextMessage(out);
    dev.receive({ deviceId: 'fz-1' });
    msg = await result;
    assert.strictEqual((msg.payload as { id: string }).id, 'fz-1');

    result = nextMessage(out);
    dev.receive({ operation: 'list', payload: { tag: 'cold' } });
    msg = await result;
    assert.strictEqual((msg.payload as { total: number }).total, 1);

    result = nextMessage(out);
    dev.receive({ operation: 'remove', deviceId: 'fz-1' });
    await result;
    result = nextMessage(helper.getNode('caught'));
    dev.receive({ deviceId: 'fz-1' });
    msg = await result;
    assert.match((msg.error as { message: string }).message, /fz-1 is not registered/);
  });

  it('sends errors for bad input to a Catch node with code and field, and keeps running', async () => {
    await helper.load(MODULES, flow('register'));
    const dev = helper.getNode('dev');
    const caught = helper.getNode('caught');
    const cases: Array<[NodeMessage, string, string]> = [
      [{ payload: { id: 'a/b' } }, 'INVALID_DEVICE_ID', 'deviceId'],
      [{ payload: { id: 'x', type: 'freezer', attributes: { limit: 'cold' } } }, 'SCHEMA_VALIDATION', 'attributes'],
      [{ operation: 'explode', deviceId: 'x' }, 'UNKNOWN_OPERATION', 'operation'],
      [{ operation: 'get' }, 'INVALID_DEVICE_ID', 'deviceId'],
      [{ payload: 'not an object' }, 'INVALID_FIELD', 'payload'],
    ];
    for (const [input, code, field] of cases) {
      const got = nextMessage(caught);
      dev.receive(input);
      const msg = await got;
      const error = msg.error as { code: string; message: string };
      assert.strictEqual(error.code, code, error.message);
      assert.strictEqual((msg.m2mError as { field: string }).field, field);
    }
    const out = nextMessage(helper.getNode('out'));
    dev.receive({ payload: { id: 'still-works' } });
    assert.strictEqual(((await out).payload as { id: string }).id, 'still-works');
    const list = nextMessage(helper.getNode('out'));
    dev.receive({ operation: 'list' });
    assert.strictEqual(((await list).payload as { total: number }).total, 1, 'nothing was stored by the rejected messages');
  });

  it('reports a missing registry through the Catch node', async () => {
    const nodes = flow('touch');
    nodes[1].registry = '';
    await helper.load(MODULES, nodes);
    const got = nextMessage(helper.getNode('caught'));
    helper.getNode('dev').receive({ deviceId: 'a' });
    const msg = await got;
    assert.strictEqual((msg.error as { code: string }).code, 'NO_REGISTRY');
    assert.strictEqual((msg.m2mError as { field: string }).field, 'registry');
  });

  it('emits online on the first touch and offline once on the events output when a device goes silent', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    await helper.load(MODULES, flow('touch', { autoType: 'freezer', events: 'online,offline' }));
    const events: NodeMessage[] = [];
    helper.getNode('events').on('input', (m) => events.push(m));
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('dev').receive({ deviceId: 'fz-9' });
    await out;
    await clock.tickAsync(60_000);
    assert.deepStrictEqual(
      events.map((e) => e.topic),
      ['device/fz-9/online', 'device/fz-9/offline'],
    );
  });

  it('passes telemetry through a touch when the result goes to another property', async () => {
    await helper.load(MODULES, flow('touch', { resultTo: 'device' }));
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('dev').receive({ deviceId: 'm-1', payload: { temperature: 21.5 } });
    const msg = await out;
    assert.deepStrictEqual(msg.payload, { temperature: 21.5 });
    assert.strictEqual((msg.device as { id: string; online: boolean }).id, 'm-1');
    assert.strictEqual((msg.device as { online: boolean }).online, true);
  });

  it('issues a credential once and verifies it', async () => {
    await helper.load(MODULES, flow('register', { issueToken: true }));
    const dev = helper.getNode('dev');
    const out = helper.getNode('out');
    let result = nextMessage(out);
    dev.receive({ payload: { id: 'gw-1' } });
    const token = (await result).token as string;
    assert.ok(token);
    result = nextMessage(out);
    dev.receive({ operation: 'verify', deviceId: 'gw-1', token });
    assert.deepStrictEqual((await result).payload, { deviceId: 'gw-1', verified: true });
    result = nextMessage(out);
    dev.receive({ operation: 'verify', deviceId: 'gw-1', token: 'wrong' });
    assert.deepStrictEqual((await result).payload, { deviceId: 'gw-1', verified: false });
  });

  it('keeps the devices of a memory registry across a redeploy', async () => {
    const nodes = flow('register');
    await helper.load(MODULES, nodes);
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('dev').receive({ payload: { id: 'kept' } });
    await out;
    await helper.unload();
    await helper.load(MODULES, nodes);
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('dev').receive({ operation: 'get', deviceId: 'kept' });
    assert.strictEqual(((await got).payload as { id: string }).id, 'kept');
  });
});
