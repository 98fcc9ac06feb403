import assert from 'assert';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { nextMessage, registryNodeFlow } from '../helpers/node-flow';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import twinNode from '../../nodes/m2m-twin/m2m-twin';

const TYPES = JSON.stringify([
  { name: 'thermostat', desiredSchema: { type: 'object', properties: { setpoint: { type: 'number', minimum: 5, maximum: 30 } } } },
]);

// a registry id of its own per flow: the memory store is kept by id across loads, like a redeploy
let registryId = '';

function flow(operation: string): FlowNode[] {
  registryId = `twin-reg-${Math.random().toString(36).slice(2)}`;
  return registryNodeFlow(
    { id: registryId, type: 'm2m-registry', name: 'thermostats', storeType: 'memory', offlineTimeout: 60, deviceTypes: TYPES },
    { id: 'twin', type: 'm2m-twin', registry: registryId, operation },
  );
}

const MODULES = [registryNode as NodeModule, twinNode as NodeModule, catchNode];

function registryOf(): DeviceRegistryApi {
  return (helper.getNode(registryId) as unknown as { registry: DeviceRegistryApi }).registry;
}

describe('m2m-twin node', () => {
  afterEach(() => helper.unload());

  it('desires and reports by merge patch, sends the twin on output 1 and delta then synced on output 2', async () => {
    await helper.load(MODULES, flow('desire'));
    await registryOf().ready();
    await registryOf().register({ id: 'th-1', type: 'thermostat' });
    const twin = helper.getNode('twin');
    const out = helper.getNode('out');
    const events = collect(helper.getNode('events'));

    let result = nextMessage(out);
    twin.receive({ deviceId: 'th-1', payload: { setpoint: 21, mode: 'heat' }, keep: 'me' });
    let msg = await result;
    assert.strictEqual(msg.keep, 'me', 'the incoming message is kept');
    assert.strictEqual(msg.changed, true);
    const doc = msg.payload as { desired: Record<string, unknown>; delta: Record<string, unknown>; desiredVersion: number };
    assert.deepStrictEqual([doc.desired, doc.delta, doc.desiredVersion], [{ setpoint: 21, mode: 'heat' }, { setpoint: 21, mode: 'heat' }, 1]);
    doc.desired.setpoint = 99; // the flow's copy, not the stored twin

    result = nextMessage(out);
    twin.receive({ deviceId: 'th-1', operation: 'report', payload: { setpoint: 21, mode: 'heat' } });
    msg = await result;
    assert.deepStrictEqual((msg.payload as { delta: unknown }).delta, {});
    assert.strictEqual(msg.operation, 'report');

    await waitFor(() => events.length === 2, 'delta and synced events');
    assert.deepStrictEqual(
      events.map((e) => [e.topic, e.payload]),
      [
        [
          'twin/th-1/delta',
          {
            event: 'delta',
            deviceId: 'th-1',
            delta: { setpoint: 21, mode: 'heat' },
            desiredVersion: 1,
            reportedVersion: 0,
            ts: (events[0].payload as { ts: number }).ts,
          },
        ],
        [
          'twin/th-1/synced',
          { event: 'synced', deviceId: 'th-1', delta: {}, desiredVersion: 1, reportedVersion: 1, ts: (events[1].payload as { ts: number }).ts },
        ],
      ],
    );

    result = nextMessage(out);
    twin.receive({ deviceId: 'th-1', operation: 'get' });
    msg = await result;
    assert.strictEqual((msg.payload as { desired: { setpoint: number } }).desired.setpoint, 21);
    assert.strictEqual(msg.changed, false);
  });

  it('sends the delta again when the device comes online with something still to apply', async () => {
    await helper.load(MODULES, flow('desire'));
    const registry = registryOf();
    await registry.ready();
    await registry.register({ id: 'th-2', type: 'thermostat' });
    const events = collect(helper.getNode('events'));
    const result = nextMessage(helper.getNode('out'));
    helper.getNode('twin').receive({ deviceId: 'th-2', payload: { setpoint: 17 } });
    await result;
    await waitFor(() => events.length === 1, 'the delta of the desire');
    await registry.touch('th-2'); // never seen before: comes online now
    await waitFor(() => events.length === 2, 'the delta when the device comes online');
    assert.deepStrictEqual(events[1].payload && (events[1].payload as { delta: unknown }).delta, { setpoint: 17 });
  });

  it('sends bad input to a Catch node with code and field, changes nothing, and keeps running', async () => {
    await helper.load(MODULES, flow(''));
    await registryOf().ready();
    await registryOf().register({ id: 'th-1', type: 'thermostat' });
    const twin = helper.getNode('twin');
    const caught = helper.getNode('caught');
    const cases: Array<[NodeMessage, string, string]> = [
      [{ deviceId: 'th-1', payload: { setpoint: 20 } }, 'UNKNOWN_OPERATION', 'operation'],
      [{ operation: 'desire', deviceId: 'ghost', payload: { setpoint: 20 } }, 'DEVICE_NOT_FOUND', 'deviceId'],
      [{ operation: 'desire', payload: { setpoint: 20 } }, 'INVALID_DEVICE_ID', 'deviceId'],
      [{ operation: 'desire', deviceId: 'th-1', payload: { setpoint: 50 } }, 'SCHEMA_VALIDATION', 'payload'],
      [{ operation: 'desire', deviceId: 'th-1', payload: { setpoint: 20 }, ifVersion: 7 }, 'VERSION_CONFLICT', 'ifVersion'],
      [{ operation: 'desire', deviceId: 'th-1', payload: JSON.parse('{"__proto__": {"x": 1}}') as unknown }, 'HOSTILE_KEY', 'payload'],
      [{ operation: 'report', deviceId: 'th-1', payload: { blob: 'x'.repeat(70_000) } }, 'TWIN_TOO_LARGE', 'payload'],
    ];
    for (const [msg, code, field] of cases) {
      const got = nextMessage(caught);
      twin.receive(msg);
      const error = await got;
      assert.strictEqual((error.error as { code: string }).code, code, JSON.stringify(error.error));
      assert.strictEqual((error.m2mError as { field: string }).field, field, code);
    }
    const result = nextMessage(helper.getNode('out'));
    twin.receive({ operation: 'get', deviceId: 'th-1' });
    const doc = (await result).payload as { desired: unknown; reported: unknown; desiredVersion: number };
    assert.deepStrictEqual([doc.desired, doc.reported, doc.desiredVersion], [{}, {}, 0]);
  });

  it('shows a status badge with the last device handled', async () => {
    await helper.load(MODULES, flow('desire'));
    await registryOf().ready();
    await registryOf().register({ id: 'th-1', type: 'thermostat' });
    const twin = helper.getNode('twin');
    const statuses: Array<{ text?: string }> = [];
    twin.on('call:status', (call) => statuses.push(call.args[0] as { text?: string }));
    const result = nextMessage(helper.getNode('out'));
    twin.receive({ deviceId: 'th-1', payload: { setpoint: 20 } });
    await result;
    // redrawn at most once a second
    await waitFor(() => statuses.some((s) => s.text?.startsWith('th-1')), 'the status of th-1', 3000);
    assert.deepStrictEqual(statuses.at(-1), { fill: 'yellow', shape: 'dot', text: 'th-1: delta 1 (d1/r0)' });
  });

  it('fails every message with NO_REGISTRY when no registry is configured', async () => {
    await helper.load(
      MODULES,
      flow('desire').map((n) => (n.id === 'twin' ? { ...n, registry: '' } : n)),
    );
    const got = nextMessage(helper.getNode('caught'));
    helper.getNode('twin').receive({ deviceId: 'th-1', payload: {} });
    assert.strictEqual(((await got).error as { code: string }).code, 'NO_REGISTRY');
  });
});
