import assert from 'assert';
import sinon from 'sinon';
import { catchNode, helper, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { nextMessage, registryNodeFlow } from '../helpers/node-flow';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import { MemoryStore } from '../../lib/registry/stores/memory';

function flow(operation: string): FlowNode[] {
  return registryNodeFlow(
    { id: 'preg', type: 'm2m-registry', name: 'presence-reg', storeType: 'memory', offlineTimeout: 60, deviceTypes: '[]' },
    { id: 'dev', type: 'm2m-device', registry: 'preg', operation, autoRegister: true, events: 'online,offline' },
  );
}

const MODULES = [registryNode as NodeModule, deviceNode as NodeModule, catchNode];

describe('m2m-device presence operations', () => {
  let clock: sinon.SinonFakeTimers;
  let events: string[];

  async function send(msg: NodeMessage): Promise<NodeMessage> {
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('dev').receive(msg);
    return out;
  }

  beforeEach(async () => {
    MemoryStore.forget('preg');
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    await helper.load(MODULES, flow('presence'));
    events = [];
    helper.getNode('events').on('input', (m) => events.push(m.topic as string));
    await send({ operation: 'touch', deviceId: 'th-1' });
  });
  afterEach(async () => {
    await helper.unload();
    clock.restore();
  });

  it('an LWT "offline" takes the device offline at once, one event; a second will and the timer add none', async () => {
    const msg = await send({ topic: 'devices/th-1/status', deviceId: 'th-1', payload: 'offline' });
    assert.strictEqual(msg.operation, 'offline');
    assert.strictEqual(msg.changed, true);
    assert.strictEqual((msg.payload as { online: boolean }).online, false);
    assert.strictEqual(msg.presenceSource, 'payload');
    const again = await send({ topic: 'devices/th-1/status', deviceId: 'th-1', payload: 'offline' });
    assert.strictEqual(again.changed, false);
    await clock.tickAsync(120_000);
    assert.deepStrictEqual(events, ['device/th-1/online', 'device/th-1/offline']);
  });

  it('a touch after the mark brings it back online with one event', async () => {
    await send({ operation: 'offline', deviceId: 'th-1' });
    await clock.tickAsync(5000);
    const msg = await send({ operation: 'touch', deviceId: 'th-1' });
    assert.strictEqual((msg.payload as { online: boolean }).online, true);
    assert.deepStrictEqual(events, ['device/th-1/online', 'device/th-1/offline', 'device/th-1/online']);
  });

  it('EMQX disconnect and connect events name the device by client id', async () => {
    const gone = await send({ topic: '$events/client_disconnected', payload: { clientid: 'th-1', disconnected_at: Date.now() } });
    assert.strictEqual(gone.deviceId, 'th-1');
    assert.strictEqual(gone.presenceSource, 'emqx');
    await clock.tickAsync(1000);
    const back = await send({ topic: '$events/client_connected', payload: { clientid: 'th-1', connected_at: Date.now() } });
    assert.strictEqual(back.changed, true);
    assert.deepStrictEqual(events, ['device/th-1/online', 'device/th-1/offline', 'device/th-1/online']);
  });

  it('a stale EMQX disconnect (older than the last uplink) changes nothing', async () => {
    const msg = await send({ topic: '$events/client_disconnected', payload: { clientid: 'th-1', disconnected_at: Date.now() - 10_000 } });
    assert.strictEqual(msg.changed, false);
    assert.deepStrictEqual(events, ['device/th-1/online']);
  });

  it('a Mosquitto log line and a Sparkplug death mark the device they name', async () => {
    await send({ topic: '$SYS/broker/log/N', payload: '1700000000: Client th-1 disconnected.' });
    await send({ operation: 'touch', deviceId: 'edge-1' });
    const death = await send({ topic: 'spBv1.0/plant/NDEATH/edge-1', payload: Buffer.from([8, 0]) });
    assert.strictEqual(death.presenceSource, 'sparkplug');
    assert.deepStrictEqual(events, ['device/th-1/online', 'device/th-1/offline', 'device/edge-1/online', 'device/edge-1/offline']);
  });

  it('sends what it cannot read, and unknown devices, to a Catch node, changing nothing', async () => {
    const cases: Array<[NodeMessage, string, string]> = [
      [{ deviceId: 'th-1', payload: 'sleeping' }, 'INVALID_FIELD', 'payload'],
      [{ topic: '$events/client_disconnected', payload: { clientid: 'nodered-1' } }, 'DEVICE_NOT_FOUND', 'deviceId'],
      [{ operation: 'offline', deviceId: 'th-1', at: 'yesterday' }, 'INVALID_FIELD', 'at'],
      [{ payload: 'offline' }, 'INVALID_DEVICE_ID', 'deviceId'],
    ];
    for (const [msg, code, field] of cases) {
      const caught = nextMessage(helper.getNode('caught'));
      helper.getNode('dev').receive(msg);
      const err = await caught;
      assert.strictEqual((err.error as { code: string }).code, code, JSON.stringify(msg));
      assert.strictEqual((err.m2mError as { field: string }).field, field);
    }
    assert.deepStrictEqual(events, ['device/th-1/online']);
  });
});
