import assert from 'assert';
import sinon from 'sinon';
import { DeviceRegistry } from '../../lib/registry';
import { MemoryStore } from '../../lib/registry/stores/memory';
import { Provisioner, answerTarget, type ProvisionPolicy } from '../../lib/provisioning';

const KEY = 'thermostat-key';
const SECRET = 'thermostat-secret-1';
const TYPES = [{ name: 'thermostat', attributesSchema: { type: 'object', properties: { floor: { type: 'integer' } } } }];

function request(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ provisionKey: KEY, provisionSecret: SECRET, deviceName: 'th-1', ...fields });
}

describe('provisioning', () => {
  let registry: DeviceRegistry;
  let clock: sinon.SinonFakeTimers;

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['Date'] });
    registry = new DeviceRegistry({ name: 'prov', store: new MemoryStore(), types: TYPES });
    await registry.ready();
  });
  afterEach(async () => {
    clock.restore();
    await registry.close();
  });

  function provisioner(policy: ProvisionPolicy = 'allow-create', perSecond = 100, burst = 100): Provisioner {
    return new Provisioner({ registry, policy, profiles: [{ key: KEY, secret: SECRET, deviceType: 'thermostat' }], rateLimit: { perSecond, burst } });
  }

  describe('allow create', () => {
    it('registers the device with the profile type and its attributes, and answers the credential once; it verifies', async () => {
      const outcome = await provisioner().provision(request({ attributes: { floor: 2 } }));
      assert.strictEqual(outcome.answer.status, 'SUCCESS');
      const answer = outcome.answer as { deviceId: string; credentialsType: string; credentialsValue: string };
      assert.strictEqual(answer.deviceId, 'th-1');
      assert.strictEqual(answer.credentialsType, 'ACCESS_TOKEN');
      const device = registry.get('th-1');
      assert.deepStrictEqual([device?.type, device?.attributes], ['thermostat', { floor: 2 }]);
      assert.strictEqual(await registry.verify('th-1', answer.credentialsValue), true);
      assert.strictEqual(outcome.event, 'provisioned');
    });

    it('a replay of the same request, or one for a device that exists, gets NOT_AUTHORIZED and changes nothing', async () => {
      const p = provisioner();
      const first = await p.provision(request());
      const token = (first.answer as { credentialsValue: string }).credentialsValue;
      const replay = await p.provision(request());
      assert.deepStrictEqual(replay.answer, { status: 'NOT_AUTHORIZED' });
      assert.strictEqual(replay.reason, 'device-exists');
      assert.strictEqual(await registry.verify('th-1', token), true, 'the first credential still holds');
      await registry.register({ id: 'manual', type: 'thermostat' });
      assert.deepStrictEqual((await p.provision(request({ deviceName: 'manual' }))).answer, { status: 'NOT_AUTHORIZED' });
    });

    it('two requests for one new device at once: one credential, the other NOT_AUTHORIZED', async () => {
      const p = provisioner();
      const answers = await Promise.all([p.provision(request()), p.provision(request())]);
      assert.deepStrictEqual(answers.map((o) => o.answer.status).sort(), ['NOT_AUTHORIZED', 'SUCCESS']);
      assert.strictEqual(registry.counts().devices, 1);
    });
  });

  describe('pre-provisioned only', () => {
    it('issues a credential to a registered device without one, keeping its record; then refuses it', async () => {
      await registry.register({ id: 'th-1', name: 'Hall', type: 'thermostat', attributes: { floor: 1 } });
      const p = provisioner('pre-provisioned');
      const outcome = await p.provision(request({ attributes: { room: 'hall' } }));
      assert.strictEqual(outcome.answer.status, 'SUCCESS');
      assert.deepStrictEqual([registry.get('th-1')?.name, registry.get('th-1')?.attributes], ['Hall', { floor: 1, room: 'hall' }]);
      assert.strictEqual(await registry.verify('th-1', (outcome.answer as { credentialsValue: string }).credentialsValue), true);
      const again = await p.provision(request());
      assert.deepStrictEqual([again.answer, again.reason], [{ status: 'NOT_AUTHORIZED' }, 'has-credential']);
    });

    it('an unknown device, one with a credential, or one of another type: the same NOT_AUTHORIZED, nothing registered', async () => {
      await registry.register({ id: 'tokened', type: 'thermostat' }, { issueToken: true });
      await registry.register({ id: 'other' });
      const p = provisioner('pre-provisioned');
      const answers = await Promise.all(['nobody', 'tokened', 'other'].map((deviceName) => p.provision(request({ deviceName }))));
      assert.deepStrictEqual(
        answers.map((o) => o.answer),
        [{ status: 'NOT_AUTHORIZED' }, { status: 'NOT_AUTHORIZED' }, { status: 'NOT_AUTHORIZED' }],
      );
      assert.deepStrictEqual(
        answers.map((o) => o.reason),
        ['device-not-found', 'has-credential', 'wrong-type'],
      );
      assert.strictEqual(registry.has('nobody'), false);
    });
  });

  it('a wrong secret and an unknown key get the same answer as a replay, and nothing is registered', async () => {
    const p = provisioner();
    const wrong = await p.provision(request({ provisionSecret: 'not-the-secret' }));
    const unknown = await p.provision(request({ provisionKey: 'no-such-key' }));
    assert.deepStrictEqual([wrong.answer, unknown.answer], [{ status: 'NOT_AUTHORIZED' }, { status: 'NOT_AUTHORIZED' }]);
    assert.deepStrictEqual([wrong.reason, unknown.reason], ['wrong-secret', 'unknown-key']);
    assert.strictEqual(JSON.stringify(wrong.answer), JSON.stringify(unknown.answer), 'byte for byte the same');
    assert.strictEqual(registry.counts().devices, 0);
  });

  it('the plain secret is not kept', () => {
    const p = provisioner();
    assert.ok(!JSON.stringify([...(p as unknown as { profiles: Map<string, unknown> }).profiles.values()]).includes(SECRET));
  });

  describe('rate limit per key', () => {
    it('after the burst a key is limited until the rate refills it, known and unknown keys alike; other keys are not', async () => {
      const p = provisioner('allow-create', 2, 3);
      for (const name of ['a', 'b', 'c']) assert.strictEqual((await p.provision(request({ deviceName: name }))).answer.status, 'SUCCESS');
      const limited = await p.provision(request({ deviceName: 'd' }));
      assert.deepStrictEqual(limited.answer, { status: 'RATE_LIMITED', retryAfterMs: 500 });
      assert.strictEqual(registry.has('d'), false);
      for (let i = 0; i < 3; i++) await p.provision(request({ provisionKey: 'guess', deviceName: 'x' }));
      assert.deepStrictEqual(
        (await p.provision(request({ provisionKey: 'guess' }))).answer,
        { status: 'RATE_LIMITED', retryAfterMs: 500 },
        'an unknown key is limited the same way',
      );
      clock.tick(499);
      assert.strictEqual((await p.provision(request({ deviceName: 'd' }))).answer.status, 'RATE_LIMITED');
      clock.tick(1);
      assert.strictEqual((await p.provision(request({ deviceName: 'd' }))).answer.status, 'SUCCESS');
    });

    it('a guessing device is limited too: wrong secrets count', async () => {
      const p = provisioner('allow-create', 1, 5);
      const statuses: string[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await p.provision(request({ provisionSecret: `guess-${i}` }))).answer.status);
      assert.deepStrictEqual(statuses, [...Array(5).fill('NOT_AUTHORIZED'), 'RATE_LIMITED', 'RATE_LIMITED']);
    });
  });

  describe('bad input: a clear BAD_REQUEST answer that changes nothing', () => {
    const cases: Array<[string, unknown, string | undefined]> = [
      ['not JSON', '{"provisionKey": ', 'payload'],
      ['a JSON array', '[1,2]', 'payload'],
      ['no secret', JSON.stringify({ provisionKey: KEY, deviceName: 'th-1' }), 'provisionSecret'],
      ['no key', JSON.stringify({ provisionSecret: SECRET, deviceName: 'th-1' }), 'provisionKey'],
      ['no deviceName', JSON.stringify({ provisionKey: KEY, provisionSecret: SECRET }), 'deviceName'],
      ['a deviceName with a topic level', request({ deviceName: 'a/b' }), 'deviceName'],
      ['attributes not an object', request({ attributes: [1] }), 'attributes'],
      [
        'a hostile attribute key',
        '{"provisionKey":"thermostat-key","provisionSecret":"thermostat-secret-1","deviceName":"th-1","attributes":{"__proto__":{"x":1}}}',
        'attributes',
      ],
      ['attributes failing the type schema', request({ attributes: { floor: 'two' } }), 'attributes'],
      ['over 16 KiB', 'x'.repeat(17_000), 'payload'],
    ];
    for (const [what, payload, field] of cases) {
      it(what, async () => {
        const p = provisioner('allow-create', 1, 1);
        const outcome = await p.provision(payload);
        assert.strictEqual(outcome.answer.status, 'BAD_REQUEST', JSON.stringify(outcome.answer));
        assert.strictEqual((outcome.answer as { field?: string }).field, field);
        assert.ok((outcome.answer as { error: string }).error.length > 0);
        assert.strictEqual(registry.counts().devices, 0);
      });
    }

    it('a Buffer and an object are read like JSON text', async () => {
      const p = provisioner();
      assert.strictEqual((await p.provision(Buffer.from(request()))).answer.status, 'SUCCESS');
      assert.strictEqual((await p.provision(JSON.parse(request({ deviceName: 'th-2' })))).answer.status, 'SUCCESS');
    });
  });

  describe('where the answer goes', () => {
    it('MQTT 5: the response topic with the correlation data', () => {
      assert.deepStrictEqual(
        answerTarget(
          { topic: 'provision/request', payload: '', responseTopic: 'my/answers', correlationData: Buffer.from('c1') },
          'provision/request',
          'provision/response',
        ),
        {
          topic: 'my/answers',
          correlationData: Buffer.from('c1'),
        },
      );
    });
    it('MQTT 3.1.1: provision/response/<clientId>, the client id from the topic or the request', () => {
      assert.deepStrictEqual(answerTarget({ topic: 'provision/request/dev-7', payload: '' }, 'provision/request', 'provision/response'), {
        topic: 'provision/response/dev-7',
      });
      assert.deepStrictEqual(answerTarget({ topic: 'provision/request', payload: '' }, 'provision/request', 'provision/response', { clientId: 'dev-8' }), {
        topic: 'provision/response/dev-8',
      });
    });
    it('none for a client id that is not one (a wildcard, a level) or is missing, nor for a wildcard response topic', () => {
      assert.strictEqual(answerTarget({ topic: 'provision/request/a/b', payload: '' }, 'provision/request', 'provision/response'), undefined);
      assert.strictEqual(answerTarget({ topic: 'provision/request', payload: '' }, 'provision/request', 'provision/response', { clientId: '#' }), undefined);
      assert.strictEqual(answerTarget({ topic: 'provision/request', payload: '', responseTopic: 'a/#' }, 'provision/request', 'provision/response'), undefined);
    });
  });

  it('a store that fails: UNAVAILABLE with the error for the flow, and no device', async () => {
    const p = provisioner();
    sinon.stub(registry, 'register').rejects(Object.assign(new Error('disk full'), { code: 'STORE_WRITE_FAILED' }));
    const outcome = await p.provision(request());
    assert.deepStrictEqual([outcome.answer, outcome.event], [{ status: 'UNAVAILABLE' }, 'failed']);
    assert.ok(outcome.error instanceof Error);
  });

  it('refuses a config without a key, with a short secret, or with a key given twice', () => {
    const make = (profiles: Array<{ key: string; secret: string; deviceType: string }>) => () =>
      new Provisioner({ registry, policy: 'allow-create', profiles, rateLimit: { perSecond: 1, burst: 1 } });
    assert.throws(make([{ key: '', secret: SECRET, deviceType: '' }]), /needs a key/);
    assert.throws(make([{ key: KEY, secret: 'short', deviceType: '' }]), /at least 8/);
    assert.throws(
      make([
        { key: KEY, secret: SECRET, deviceType: '' },
        { key: KEY, secret: SECRET, deviceType: '' },
      ]),
      /twice/,
    );
  });
});
