import assert from 'assert';
import { randomBytes } from 'crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { DeviceEvent, DeviceRegistryApi } from '../../lib/registry/types';
import { MemoryStore } from '../../lib/registry/stores/memory';
import { DeviceSimulator, type SimulatorMessage } from '../../lib/simulator';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import provisionNode from '../../nodes/m2m-provision/m2m-provision';
import { catchNode, collect, coreNode, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { mqttBrokerNode, mqttInNode, mqttOutNode } from '../helpers/mqtt-flow';
import { startBroker, type TestBroker } from '../helpers/services';

// 200 simulated devices provision themselves through mqtt in -> m2m-provision -> mqtt out on the real Mosquitto
// (required when CI=true), half over MQTT 5 and half over MQTT 3.1.1; 10 have a wrong secret.

const DEVICES = 200;
const WRONG = 10;
const KEY = 'fleet-key';
const SECRET = 'fleet-secret-123';
const MODULES = [registryNode as NodeModule, provisionNode as NodeModule, catchNode, coreNode('network/10-mqtt.js')];

function connect(url: string, protocolVersion: 4 | 5): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion, clientId: `prov-test-${protocolVersion}-${randomBytes(4).toString('hex')}` });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

describe('provisioning on the real broker: 200 simulated devices enrol themselves', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  let clients: MqttClient[] = [];
  const registryId = `prov-fleet-${randomBytes(4).toString('hex')}`;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync()));
    await helper.unload();
    MemoryStore.forget(registryId);
    await broker.close();
  });

  it('190 get a credential that verifies, 10 with a wrong secret are refused, concurrent duplicates and replays get nothing: no device registered twice', async () => {
    const prefix = `m2mtest-prov-${randomBytes(4).toString('hex')}`;
    const flow: FlowNode[] = [
      { id: 'f', type: 'tab' },
      mqttBrokerNode('mq', broker.port),
      { id: registryId, type: 'm2m-registry', name: 'enrol', storeType: 'memory', offlineTimeout: 600, deviceTypes: JSON.stringify([{ name: 'sensor' }]) },
      mqttInNode({ id: 'reqin', z: 'f', broker: 'mq', topic: `${prefix}/request/#`, to: 'prov' }),
      {
        id: 'prov',
        type: 'm2m-provision',
        z: 'f',
        registry: registryId,
        policy: 'allow-create',
        profiles: [{ key: KEY, deviceType: 'sensor' }],
        requestTopic: `${prefix}/request`,
        responseTopic: `${prefix}/response`,
        rate: 1000,
        burst: 1000,
        wires: [['ansout'], ['events']],
      },
      mqttOutNode({ id: 'ansout', z: 'f', broker: 'mq' }),
      { id: 'events', type: 'helper', z: 'f' },
      { id: 'catcher', type: 'catch', z: 'f', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f' },
    ];
    await helper.load(MODULES, flow, { prov: { secrets: JSON.stringify({ [KEY]: SECRET }) } });
    const registry = (helper.getNode(registryId) as unknown as { registry: DeviceRegistryApi }).registry;
    await registry.ready();
    const registered = new Map<string, number>();
    registry.on('device', (e: DeviceEvent) => {
      if (e.event === 'registered') registered.set(e.deviceId, (registered.get(e.deviceId) ?? 0) + 1);
    });
    const events = collect(helper.getNode('events'));
    const caught = collect(helper.getNode('caught'));

    // the devices' side: an MQTT 5 and an MQTT 3.1.1 connection publish; the MQTT 5 one hears every answer
    const [v5, v4, listener] = (clients = await Promise.all([connect(broker.url, 5), connect(broker.url, 4), connect(broker.url, 5)]));
    const publish = (m: SimulatorMessage): void => {
      const body = JSON.stringify(m.payload);
      if (m.responseTopic) v5.publish(m.topic, body, { qos: 1, properties: { responseTopic: m.responseTopic, correlationData: m.correlationData } });
      else v4.publish(m.topic, body, { qos: 1 });
    };
    const sim = new DeviceSimulator({
      devices: DEVICES,
      idPrefix: 'dev-',
      intervalMs: 0,
      publish,
      provisionRequestTopic: `${prefix}/request`,
      provisionResponseTopic: `${prefix}/response`,
    });
    const duplicates = new Map<string, string[]>();
    listener.on('message', (topic, payload, packet) => {
      if (topic.startsWith(`${prefix}/response/dup-`)) {
        const id = topic.slice(`${prefix}/response/dup-`.length);
        duplicates.set(id, [...(duplicates.get(id) ?? []), (JSON.parse(payload.toString()) as { status: string }).status]);
      } else {
        sim.provisioning.answer(topic, payload, packet.properties?.correlationData);
      }
    });
    await listener.subscribeAsync(`${prefix}/response/+`, { qos: 1 });
    // the provisioning node's subscription is up once a probe is answered
    for (let tries = 0; events.length === 0; tries++) {
      assert.ok(tries < 50, 'the provisioning node answers a probe');
      listener.publish(`${prefix}/request/probe`, '{}');
      await waitFor(() => events.length > 0, 'a probe answered', 200).catch(() => undefined);
    }

    const ids = [...sim.ids];
    const wrong = ids.slice(0, WRONG);
    const right = ids.slice(WRONG);
    sim.provisioning.enrol(
      wrong.filter((_, i) => i % 2 === 0),
      { provisionKey: KEY, provisionSecret: 'guessed-secret', mqtt5: true },
    );
    sim.provisioning.enrol(
      wrong.filter((_, i) => i % 2 === 1),
      { provisionKey: KEY, provisionSecret: 'guessed-secret' },
    );
    sim.provisioning.enrol(
      right.filter((_, i) => i % 2 === 0),
      { provisionKey: KEY, provisionSecret: SECRET, mqtt5: true },
    );
    sim.provisioning.enrol(
      right.filter((_, i) => i % 2 === 1),
      { provisionKey: KEY, provisionSecret: SECRET },
    );
    // 20 devices' requests sent twice at once, the second from another client id
    for (const id of right.slice(0, 20))
      v4.publish(`${prefix}/request/dup-${id}`, JSON.stringify({ provisionKey: KEY, provisionSecret: SECRET, deviceName: id }), { qos: 1 });

    await waitFor(() => sim.provisioning.counts().asking === 0 && duplicates.size === 20, 'every device answered', 30_000);
    assert.deepStrictEqual(sim.provisioning.counts(), {
      asking: 0,
      enrolled: DEVICES - WRONG - countDuplicateWins(duplicates),
      refused: WRONG + countDuplicateWins(duplicates),
      failed: 0,
    });
    for (const id of wrong) assert.deepStrictEqual(sim.provisioning.stateOf(id), { state: 'refused', status: 'NOT_AUTHORIZED' }, id);
    for (const id of right.slice(0, 20)) {
      const statuses = [sim.provisioning.stateOf(id)?.status, ...(duplicates.get(id) ?? [])].sort();
      assert.deepStrictEqual(statuses, ['NOT_AUTHORIZED', 'SUCCESS'], `${id}: one of two concurrent requests got the credential`);
    }
    const enrolled = right.filter((id) => sim.provisioning.credentialOf(id) !== undefined);
    for (const id of enrolled) assert.strictEqual(await registry.verify(id, sim.provisioning.credentialOf(id) as string), true, id);

    // a replay of every request gets nothing
    const before = events.length;
    sim.provisioning.enrol(
      right.filter((_, i) => i % 2 === 0),
      { provisionKey: KEY, provisionSecret: SECRET, mqtt5: true },
    );
    sim.provisioning.enrol(
      right.filter((_, i) => i % 2 === 1),
      { provisionKey: KEY, provisionSecret: SECRET },
    );
    await waitFor(() => sim.provisioning.counts().asking === 0, 'the replays answered', 30_000);
    assert.deepStrictEqual(
      sim.provisioning.counts(),
      { asking: 0, enrolled: 0, refused: DEVICES, failed: 0 },
      'every replay refused (and the wrong ones stay refused)',
    );
    assert.ok(events.slice(before).every((m) => (m.payload as { status: string }).status === 'NOT_AUTHORIZED'));

    assert.strictEqual(registry.counts().devices, DEVICES - WRONG);
    assert.deepStrictEqual(
      [...registered.entries()].filter(([, n]) => n !== 1),
      [],
      'no device registered twice',
    );
    assert.strictEqual(registered.size, DEVICES - WRONG);
    assert.ok(wrong.every((id) => !registry.has(id)));
    assert.deepStrictEqual(
      caught.map((m) => (m.error as { message: string }).message),
      [],
    );
    sim.close();
    console.log(`      (broker: ${broker.kind})`);
  });
});

/** How many of the duplicated devices lost to their own duplicate (the duplicate got SUCCESS). */
function countDuplicateWins(duplicates: Map<string, string[]>): number {
  return [...duplicates.values()].filter((statuses) => statuses.includes('SUCCESS')).length;
}
