import assert from 'assert';
import sinon from 'sinon';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule, type TestNode } from '../helpers/node-red';
import type { NodeMessage } from '../../nodes/shared/node-red';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import provisionNode from '../../nodes/m2m-provision/m2m-provision';

const KEY = 'th-key';
const SECRET = 'th-secret-123';
const MODULES = [registryNode as NodeModule, provisionNode as NodeModule, catchNode];
let registryId = '';

function flow(options: Record<string, unknown> = {}): FlowNode[] {
  registryId = `prov-reg-${Math.random().toString(36).slice(2)}`;
  return [
    { id: registryId, type: 'm2m-registry', name: 'devices', storeType: 'memory', offlineTimeout: 60, deviceTypes: JSON.stringify([{ name: 'thermostat' }]) },
    {
      id: 'prov',
      type: 'm2m-provision',
      z: 'f1',
      registry: registryId,
      policy: 'allow-create',
      profiles: [{ key: KEY, deviceType: 'thermostat' }],
      rate: 20,
      burst: 100,
      ...options,
      wires: [['answers'], ['events']],
    },
    { id: 'answers', type: 'helper', z: 'f1' },
    { id: 'events', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'f1', type: 'tab' },
  ];
}

const CREDENTIALS = { prov: { secrets: JSON.stringify({ [KEY]: SECRET }) } };

function registryOf(): DeviceRegistryApi {
  return (helper.getNode(registryId) as unknown as { registry: DeviceRegistryApi }).registry;
}

function next(node: TestNode): Promise<NodeMessage> {
  return new Promise((resolve) => node.on('input', resolve));
}

function request(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ provisionKey: KEY, provisionSecret: SECRET, deviceName: 'th-1', ...fields });
}

describe('m2m-provision node', () => {
  afterEach(() => helper.unload());

  it('MQTT 5: answers on the response topic with the correlation data, the credential once, retain off; the event has no secret', async () => {
    await helper.load(MODULES, flow(), CREDENTIALS);
    await registryOf().ready();
    const events = collect(helper.getNode('events'));
    const answered = next(helper.getNode('answers'));
    helper.getNode('prov').receive({
      topic: 'provision/request',
      payload: Buffer.from(request()),
      responseTopic: 'client/7/answer',
      correlationData: Buffer.from('c-7'),
      retain: true,
      contentType: 'x',
    });
    const answer = await answered;
    assert.strictEqual(answer.topic, 'client/7/answer');
    assert.deepStrictEqual(answer.correlationData, Buffer.from('c-7'));
    assert.deepStrictEqual([answer.retain, answer.qos, answer.responseTopic, answer.contentType], [false, 1, undefined, undefined]);
    const payload = answer.payload as { status: string; credentialsValue: string };
    assert.strictEqual(payload.status, 'SUCCESS');
    assert.strictEqual(await registryOf().verify('th-1', payload.credentialsValue), true);
    await waitFor(() => events.length === 1, 'the provisioned event');
    assert.strictEqual(events[0].topic, 'provision/provisioned');
    assert.ok(
      !JSON.stringify(events[0]).includes(SECRET) && !JSON.stringify(events[0]).includes(payload.credentialsValue),
      'neither secret nor credential on output 2',
    );
  });

  it('MQTT 3.1.1: answers on provision/response/<clientId> from the topic; a replay gets NOT_AUTHORIZED', async () => {
    await helper.load(MODULES, flow(), CREDENTIALS);
    await registryOf().ready();
    const answers = collect(helper.getNode('answers'));
    helper.getNode('prov').receive({ topic: 'provision/request/client-1', payload: request() });
    await waitFor(() => answers.length === 1, 'first answer');
    helper.getNode('prov').receive({ topic: 'provision/request/client-1', payload: request() });
    await waitFor(() => answers.length === 2, 'the replay answered');
    assert.deepStrictEqual(
      answers.map((a) => [a.topic, (a.payload as { status: string }).status]),
      [
        ['provision/response/client-1', 'SUCCESS'],
        ['provision/response/client-1', 'NOT_AUTHORIZED'],
      ],
    );
    assert.strictEqual(registryOf().counts().devices, 1);
  });

  it('wrong secret and unknown key: the same answer; not JSON or a missing field: BAD_REQUEST; nothing registered', async () => {
    await helper.load(MODULES, flow(), CREDENTIALS);
    await registryOf().ready();
    const answers = collect(helper.getNode('answers'));
    const prov = helper.getNode('prov');
    prov.receive({ topic: 'provision/request/c1', payload: request({ provisionSecret: 'guess-guess' }) });
    prov.receive({ topic: 'provision/request/c2', payload: request({ provisionKey: 'nope' }) });
    prov.receive({ topic: 'provision/request/c3', payload: '{"provisionKey": "th-key", "provisionSecret": "th-secret-123", ' });
    prov.receive({ topic: 'provision/request/c4', payload: JSON.stringify({ provisionKey: KEY, provisionSecret: SECRET }) });
    await waitFor(() => answers.length === 4, 'four answers');
    const byTopic = Object.fromEntries(answers.map((a) => [a.topic, a.payload]));
    assert.deepStrictEqual(byTopic['provision/response/c1'], { status: 'NOT_AUTHORIZED' });
    assert.deepStrictEqual(byTopic['provision/response/c2'], { status: 'NOT_AUTHORIZED' });
    assert.deepStrictEqual(byTopic['provision/response/c3'], { status: 'BAD_REQUEST', error: 'the provisioning request is not JSON', field: 'payload' });
    assert.strictEqual((byTopic['provision/response/c4'] as { field: string }).field, 'deviceName');
    assert.strictEqual(registryOf().counts().devices, 0);
  });

  it('a request that cannot be answered goes to a Catch node with INVALID_FIELD and without the secret', async () => {
    await helper.load(MODULES, flow(), CREDENTIALS);
    await registryOf().ready();
    const caught = next(helper.getNode('caught'));
    helper.getNode('prov').receive({ topic: 'provision/request', payload: request() });
    const msg = await caught;
    assert.strictEqual((msg.error as { code: string }).code, 'INVALID_FIELD');
    assert.strictEqual((msg.m2mError as { field: string }).field, 'responseTopic');
    assert.ok(!JSON.stringify(msg).includes(SECRET), 'the secret is not in the caught message');
    assert.strictEqual(registryOf().counts().devices, 0, 'not provisioned: its credential could not be delivered');
  });

  it('rate limit per key with fake time: the burst, then RATE_LIMITED until the rate refills', async () => {
    await helper.load(MODULES, flow({ rate: 1, burst: 2 }), CREDENTIALS);
    await registryOf().ready();
    const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    try {
      const answers = collect(helper.getNode('answers'));
      for (const name of ['a', 'b', 'c']) helper.getNode('prov').receive({ topic: `provision/request/${name}`, payload: request({ deviceName: name }) });
      await waitFor(() => answers.length === 3, 'three answers');
      assert.deepStrictEqual(answers.map((a) => (a.payload as { status: string }).status).sort(), ['RATE_LIMITED', 'SUCCESS', 'SUCCESS']);
      clock.tick(1000);
      helper.getNode('prov').receive({ topic: 'provision/request/c', payload: request({ deviceName: 'c' }) });
      await waitFor(() => answers.length === 4, 'after a second');
      assert.strictEqual((answers[3].payload as { status: string }).status, 'SUCCESS');
    } finally {
      clock.restore();
    }
  });

  it('pre-provisioned only: a registered device without a credential enrols; an unknown one does not', async () => {
    await helper.load(MODULES, flow({ policy: 'pre-provisioned' }), CREDENTIALS);
    await registryOf().ready();
    await registryOf().register({ id: 'th-1', type: 'thermostat' });
    const answers = collect(helper.getNode('answers'));
    helper.getNode('prov').receive({ topic: 'provision/request/a', payload: request() });
    helper.getNode('prov').receive({ topic: 'provision/request/b', payload: request({ deviceName: 'th-2' }) });
    await waitFor(() => answers.length === 2, 'two answers');
    const byTopic = Object.fromEntries(answers.map((a) => [a.topic, (a.payload as { status: string }).status]));
    assert.deepStrictEqual(byTopic, { 'provision/response/a': 'SUCCESS', 'provision/response/b': 'NOT_AUTHORIZED' });
    assert.strictEqual(registryOf().has('th-2'), false);
  });

  it('a key without a secret: red badge, and every request fails with INVALID_CONFIG', async () => {
    await helper.load(MODULES, flow(), { prov: { secrets: '{}' } });
    const caught = next(helper.getNode('caught'));
    helper.getNode('prov').receive({ topic: 'provision/request/x', payload: request() });
    const msg = await caught;
    assert.strictEqual((msg.error as { code: string }).code, 'INVALID_CONFIG');
    assert.strictEqual((msg.m2mError as { field: string }).field, 'secrets');
  });
});
