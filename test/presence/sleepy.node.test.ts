import assert from 'assert';
import sinon from 'sinon';
import type { StatusEvent, TransportMessage } from '../../lib/command';
import { MemoryCommandStore } from '../../lib/command';
import { MemoryStore } from '../../lib/registry/stores/memory';
import type { NodeMessage } from '../../nodes/shared/node-red';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import { collect, helper, type FlowNode, type NodeModule, type TestNode } from '../helpers/node-red';
import { MODULES } from '../command/flow';

const TYPES = JSON.stringify([{ name: 'meter', sleepy: true, offlineTimeoutMs: 3_600_000 }]);

function flow(): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'sreg', type: 'm2m-registry', name: 'sleepy-plant', storeType: 'memory', offlineTimeout: 3600, deviceTypes: TYPES },
    { id: 'dev', type: 'm2m-device', z: 'f1', registry: 'sreg', operation: 'touch', events: '', wires: [['devout'], []] },
    { id: 'cmd', type: 'm2m-command', z: 'f1', registry: 'sreg', timeout: 5, wires: [['transport'], ['events']] },
    { id: 'devout', type: 'helper', z: 'f1' },
    { id: 'transport', type: 'helper', z: 'f1' },
    { id: 'events', type: 'helper', z: 'f1' },
  ];
}

function next(node: TestNode): Promise<NodeMessage> {
  return new Promise((resolve) => node.on('input', resolve));
}

describe('m2m-command with a sleepy device type', () => {
  let clock: sinon.SinonFakeTimers;
  let transport: NodeMessage[];
  let statuses: string[];

  async function device(msg: NodeMessage): Promise<NodeMessage> {
    const out = next(helper.getNode('devout'));
    helper.getNode('dev').receive(msg);
    return out;
  }
  async function command(msg: NodeMessage): Promise<StatusEvent> {
    const event = next(helper.getNode('events'));
    helper.getNode('cmd').receive(msg);
    return (await event).payload as StatusEvent;
  }

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    await helper.load([...MODULES, deviceNode as NodeModule], flow());
    transport = collect(helper.getNode('transport'));
    statuses = [];
    helper.getNode('events').on('input', (m) => statuses.push((m.payload as StatusEvent).status));
    await device({ operation: 'register', payload: { id: 'meter-1', type: 'meter' } });
    await device({ deviceId: 'meter-1' });
  });
  afterEach(async () => {
    await helper.unload();
    MemoryCommandStore.forget('cmd');
    MemoryStore.forget('sreg');
    clock.restore();
  });

  it('a command waits while the meter sleeps (no reply timeout) and goes out the moment it is heard', async () => {
    assert.strictEqual((await command({ deviceId: 'meter-1', command: 'read' })).status, 'queued');
    await clock.tickAsync(20 * 60_000);
    assert.deepStrictEqual([transport.length, statuses], [0, ['queued']]);
    const sent = next(helper.getNode('transport'));
    await device({ deviceId: 'meter-1', payload: { kWh: 12.5 } });
    const out = (await sent) as unknown as TransportMessage;
    assert.strictEqual(out.topic, 'devices/meter-1/commands/read');
    assert.deepStrictEqual(statuses, ['queued', 'sent']);
  });

  it('after its last will, the meter is offline at once; a command waits and goes out when it is back', async () => {
    const will = await device({ operation: 'presence', deviceId: 'meter-1', payload: 'offline' });
    assert.strictEqual(will.changed, true);
    const queued = await command({ deviceId: 'meter-1', command: 'read', ttl: 3_600_000 });
    assert.deepStrictEqual([queued.status, queued.error], ['queued', null]);
    await clock.tickAsync(60_000);
    assert.strictEqual(transport.length, 0);
    const sent = next(helper.getNode('transport'));
    await device({ deviceId: 'meter-1' });
    assert.strictEqual(((await sent) as unknown as TransportMessage).command, 'read');
  });
});
