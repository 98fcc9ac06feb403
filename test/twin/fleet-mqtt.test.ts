import assert from 'assert';
import { randomBytes } from 'crypto';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { MemoryStore } from '../../lib/registry/stores/memory';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import twinNode from '../../nodes/m2m-twin/m2m-twin';
import commandNode from '../../nodes/m2m-command/m2m-command';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import { catchNode, collect, coreNode, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { mqttBrokerNode, mqttInNode, mqttOutNode } from '../helpers/mqtt-flow';
import { startBroker, type TestBroker } from '../helpers/services';

// 100 simulated thermostats on the real Mosquitto (required when CI=true): desired setpoints changed for all of
// them while half are offline; when those come back every delta is reconciled, and `synced` comes once per device.

const DEVICES = 100;
const MODULES = [registryNode, deviceNode, twinNode, commandNode, simulatorNode]
  .map((m) => m as NodeModule)
  .concat([catchNode, ...['network/10-mqtt.js', 'function/15-change.js', 'function/10-switch.js'].map(coreNode)]);

function flow(broker: TestBroker, prefix: string, registry: string): FlowNode[] {
  const z = 'fleet';
  const mqttIn = (id: string, topic: string, to: string): FlowNode => mqttInNode({ id, z, broker: 'mq', topic, to });
  const mqttOut = (id: string): FlowNode => mqttOutNode({ id, z, broker: 'mq' });
  const deviceFromTopic = { t: 'set', p: 'deviceId', pt: 'msg', to: "$split(topic, '/')[1]", tot: 'jsonata' };
  return [
    { id: z, type: 'tab' },
    mqttBrokerNode('mq', broker.port),
    {
      id: registry,
      type: 'm2m-registry',
      name: 'fleet',
      storeType: 'memory',
      offlineTimeout: 600,
      deviceTypes: JSON.stringify([
        { name: 'thermostat', desiredSchema: { type: 'object', properties: { setpoint: { type: 'number', minimum: 5, maximum: 30 } } } },
      ]),
    },
    // the simulated thermostats, behind the broker
    mqttIn('cmdin', `${prefix}/+/commands/+`, 'sim'),
    {
      id: 'sim',
      type: 'm2m-simulator',
      z,
      devices: DEVICES,
      idPrefix: 'th-',
      interval: 1,
      format: 'json',
      metrics: [{ name: 'temperature', min: 18, max: 24, noise: 0.1, drift: 0.05 }],
      topic: `${prefix}/{deviceId}/telemetry`,
      commandTopic: `${prefix}/{deviceId}/commands/{command}`,
      replyTopic: `${prefix}/{deviceId}/replies`,
      reportTopic: `${prefix}/{deviceId}/reported`,
      latency: 20,
      jitter: 20,
      failureRatio: 0,
      seed: '7',
      wires: [['simout']],
    },
    mqttOut('simout'),
    // Node-RED's side: heard devices are online, reports go to the twin, deltas go out as set-desired commands
    mqttIn('telin', `${prefix}/+/telemetry`, 'teldev'),
    { id: 'teldev', type: 'change', z, rules: [deviceFromTopic], wires: [['heard']] },
    { id: 'heard', type: 'm2m-device', z, registry, operation: 'touch', events: '', resultTo: 'device', wires: [[], []] },
    { id: 'markoff', type: 'm2m-device', z, registry, operation: 'offline', events: '', resultTo: 'device', wires: [[], []] },
    mqttIn('repin', `${prefix}/+/reported`, 'repdev'),
    { id: 'repdev', type: 'change', z, rules: [deviceFromTopic, { t: 'set', p: 'operation', pt: 'msg', to: 'report', tot: 'str' }], wires: [['twin']] },
    { id: 'twin', type: 'm2m-twin', z, registry, operation: '', wires: [['docs'], ['events']] },
    {
      id: 'events',
      type: 'switch',
      z,
      property: 'payload.event',
      propertyType: 'msg',
      rules: [
        { t: 'eq', v: 'delta', vt: 'str' },
        { t: 'eq', v: 'synced', vt: 'str' },
      ],
      checkall: 'false',
      outputs: 2,
      wires: [['tocmd'], ['synced']],
    },
    {
      id: 'tocmd',
      type: 'change',
      z,
      rules: [
        { t: 'set', p: 'command', pt: 'msg', to: 'set-desired', tot: 'str' },
        { t: 'set', p: 'payload', pt: 'msg', to: 'payload.delta', tot: 'msg' },
        { t: 'delete', p: 'topic', pt: 'msg' },
      ],
      wires: [['command']],
    },
    {
      id: 'command',
      type: 'm2m-command',
      z,
      registry,
      topic: `${prefix}/{deviceId}/commands/{command}`,
      replyTopic: `${prefix}/{deviceId}/replies`,
      mqtt5: true,
      timeout: 10,
      retries: 2,
      backoff: 1,
      ttl: 0,
      queueSize: 50,
      wires: [['cmdout'], ['cmdstatus']],
    },
    mqttOut('cmdout'),
    mqttIn('replyin', `${prefix}/+/replies`, 'command'),
    { id: 'docs', type: 'helper', z },
    { id: 'synced', type: 'helper', z },
    { id: 'cmdstatus', type: 'helper', z },
    { id: 'catcher', type: 'catch', z, scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z },
  ];
}

describe('device twin on the real broker: 100 simulated thermostats, half offline while their setpoints change', function () {
  this.timeout(120_000);
  let broker: TestBroker;
  const registryId = `fleet-${randomBytes(4).toString('hex')}`;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await helper.unload();
    MemoryStore.forget(registryId);
    await broker.close();
  });

  it('reconciles every delta, the offline half when it comes back, with synced exactly once per device', async () => {
    const prefix = `m2mtest-fleet-${randomBytes(4).toString('hex')}`;
    await helper.load(MODULES, flow(broker, prefix, registryId));
    const registry = (helper.getNode(registryId) as unknown as { registry: DeviceRegistryApi }).registry;
    await registry.ready();
    const ids = Array.from({ length: DEVICES }, (_, i) => `th-${String(i + 1).padStart(3, '0')}`);
    for (const id of ids) await registry.register({ id, type: 'thermostat' });
    const synced = collect(helper.getNode('synced'));
    const caught = collect(helper.getNode('caught'));
    const docs = collect(helper.getNode('docs'));
    const statuses = collect(helper.getNode('cmdstatus'));
    await waitFor(() => ids.every((id) => registry.isOnline(id)), 'all 100 thermostats heard over the broker', 30_000);

    const away = ids.slice(DEVICES / 2);
    const present = ids.slice(0, DEVICES / 2);
    for (const deviceId of away) {
      helper.getNode('sim').receive({ action: 'offline', deviceId });
      helper.getNode('markoff').receive({ deviceId }); // as its last will would
    }
    await waitFor(() => away.every((id) => !registry.isOnline(id)), 'the away half offline');

    const setpointOf = (i: number): number => 16 + (i % 10);
    ids.forEach((deviceId, i) => helper.getNode('twin').receive({ deviceId, operation: 'desire', payload: { setpoint: setpointOf(i) } }));
    await waitFor(() => synced.length === present.length, 'the present half synced', 30_000);
    const syncedIds = (): string[] => synced.map((m) => m.deviceId as string);
    assert.deepStrictEqual(syncedIds().sort(), present);
    assert.ok(
      away.every((id) => !registry.isOnline(id)),
      'the away half is still away',
    );

    for (const deviceId of away) helper.getNode('sim').receive({ action: 'online', deviceId });
    await waitFor(() => synced.length >= DEVICES, 'every thermostat synced', 60_000);

    // every command answered before counting: a device back online got both its queued command and the twin's
    // reminder, and the later one's report must not sync it twice
    const ofStatus = (wanted: string[]): number => statuses.filter((m) => wanted.includes((m.payload as { status: string }).status)).length;
    await waitFor(() => ofStatus(['sent']) === ofStatus(['succeeded', 'failed', 'timeout', 'expired', 'canceled']), 'every command sent answered', 30_000);
    assert.strictEqual(ofStatus(['failed', 'timeout', 'expired']), 0, 'no command failed');
    for (const [i, deviceId] of ids.entries()) {
      docs.length = 0;
      helper.getNode('twin').receive({ deviceId, operation: 'get' });
      await waitFor(() => docs.some((m) => m.operation === 'get'), `${deviceId}'s twin`);
      const twin = docs.find((m) => m.operation === 'get')?.payload as { delta: object; reported: { setpoint: number } };
      assert.deepStrictEqual([twin.delta, twin.reported.setpoint], [{}, setpointOf(i)], deviceId);
    }
    const counts = new Map<string, number>();
    for (const id of syncedIds()) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.deepStrictEqual(
      ids.filter((id) => counts.get(id) !== 1),
      [],
      'synced exactly once per device',
    );
    assert.deepStrictEqual(
      caught.map((m) => (m.error as { message: string }).message),
      [],
    );
    console.log(`      (broker: ${broker.kind})`);
  });
});
