import assert from 'assert';
import sinon from 'sinon';
import { DeviceRegistry } from '../../lib/registry';
import { MemoryStore } from '../../lib/registry/stores/memory';
import { Provisioner, answerTarget } from '../../lib/provisioning';
import { DeviceSimulator, type SimulatorMessage } from '../../lib/simulator';

describe('m2m-simulator: devices enrol themselves with m2m-provision', () => {
  let clock: sinon.SinonFakeTimers;
  let registry: DeviceRegistry;
  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    registry = new DeviceRegistry({ name: 'enrol', store: new MemoryStore(), types: [{ name: 'meter' }] });
    await registry.ready();
  });
  afterEach(async () => {
    clock.restore();
    await registry.close();
  });

  /** The simulator's requests go to the provisioner and its answers back, as mqtt in -> m2m-provision -> mqtt out would. */
  async function wire(sim: DeviceSimulator, provisioner: Provisioner, sent: SimulatorMessage[]): Promise<void> {
    while (sent.length > 0) {
      const request = sent.shift() as SimulatorMessage;
      const target = answerTarget(
        { topic: request.topic, payload: request.payload, responseTopic: request.responseTopic, correlationData: request.correlationData },
        'provision/request',
        'provision/response',
      );
      const outcome = await provisioner.provision(request.payload);
      assert.ok(target);
      sim.provisioning.answer(target.topic, JSON.stringify(outcome.answer), target.correlationData);
    }
  }

  it('every device enrols and keeps a credential that verifies; rate-limited devices ask again after retryAfterMs; a wrong secret is refused', async () => {
    const sent: SimulatorMessage[] = [];
    const sim = new DeviceSimulator({ devices: 6, idPrefix: 'm-', intervalMs: 0, publish: (m) => sent.push(m) });
    const provisioner = new Provisioner({
      registry,
      policy: 'allow-create',
      profiles: [{ key: 'meters', secret: 'meter-secret', deviceType: 'meter' }],
      rateLimit: { perSecond: 2, burst: 4 },
    });
    sim.provisioning.enrol(sim.ids.slice(0, 5), { provisionKey: 'meters', provisionSecret: 'meter-secret', attributes: { site: 'north' } });
    sim.provisioning.enrol(['m-006'], { provisionKey: 'meters', provisionSecret: 'wrong-secret', mqtt5: true });
    assert.deepStrictEqual([sent[0].topic, sent[5].topic, sent[5].responseTopic], ['provision/request/m-001', 'provision/request', 'provision/response/m-006']);
    await wire(sim, provisioner, sent);
    assert.deepStrictEqual(sim.provisioning.counts(), { asking: 2, enrolled: 4, refused: 0, failed: 0 }, 'four in the burst, two rate limited');
    await clock.tickAsync(500);
    await wire(sim, provisioner, sent);
    await clock.tickAsync(500);
    await wire(sim, provisioner, sent);
    assert.deepStrictEqual(sim.provisioning.counts(), { asking: 0, enrolled: 5, refused: 1, failed: 0 });
    assert.deepStrictEqual(sim.provisioning.stateOf('m-006'), { state: 'refused', status: 'NOT_AUTHORIZED' });
    for (const id of sim.ids.slice(0, 5)) assert.strictEqual(await registry.verify(id, sim.provisioning.credentialOf(id) as string), true, id);
    assert.strictEqual(registry.get('m-001')?.attributes.site, 'north');
    assert.strictEqual(registry.has('m-006'), false);
    sim.close();
  });

  it("an MQTT 5 answer with someone else's correlation data is ignored", () => {
    const sent: SimulatorMessage[] = [];
    const sim = new DeviceSimulator({ devices: 1, idPrefix: 'm-', intervalMs: 0, publish: (m) => sent.push(m) });
    sim.provisioning.enrol(sim.ids, { provisionKey: 'k', provisionSecret: 's', mqtt5: true });
    assert.strictEqual(sim.provisioning.answer('provision/response/m-001', '{"status":"SUCCESS","credentialsValue":"x"}', Buffer.from('other')), 'ignored');
    assert.strictEqual(sim.provisioning.answer('provision/response/m-001', '{"status":"SUCCESS","credentialsValue":"x"}', sent[0].correlationData), 'enrolled');
  });
});
