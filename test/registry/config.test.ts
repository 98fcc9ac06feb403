import assert from 'assert';
import sinon from 'sinon';
import { M2MError } from '../../lib/errors';
import { DeviceRegistry, parseDeviceTypes } from '../../lib/registry';
import { MemoryStore } from '../../lib/registry/stores/memory';
import { parseOfflineTimeout } from '../../lib/registry/validate';
import { catchNode, helper, nextMessages, type FlowNode, type NodeModule } from '../helpers/node-red';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';

function refusedFor(field: string, pattern: RegExp = new RegExp(field)): (err: unknown) => boolean {
  return (err) => err instanceof M2MError && err.code === 'INVALID_CONFIG' && err.field === field && pattern.test(err.message);
}

describe('registry configuration', () => {
  afterEach(() => sinon.restore());

  it('refuses an offline timeout that is empty, not a number, zero, negative or beyond a year, instead of reading it as 0 ms', () => {
    for (const bad of ['', ' ', 'abc', '0', 0, -5, '1e99', Infinity, NaN, '12s', true, {}]) {
      assert.throws(() => parseOfflineTimeout(bad, 300), refusedFor('offlineTimeout'), `accepted ${String(bad)}`);
    }
    assert.strictEqual(parseOfflineTimeout('300', 300), 300_000);
    assert.strictEqual(parseOfflineTimeout(2.5, 300), 2_500);
    assert.strictEqual(parseOfflineTimeout(undefined, 300), 300_000, 'a flow saved without the property gets the default');
  });

  it('never starts the offline sweep with NaN, 0 or an overflowing period', () => {
    const setInterval = sinon.spy(global, 'setInterval');
    const store = new MemoryStore();
    const cases: Array<[ConstructorParameters<typeof DeviceRegistry>[0], string]> = [
      [{ name: 'r', store, defaultOfflineTimeoutMs: NaN }, 'defaultOfflineTimeoutMs'],
      [{ name: 'r', store, defaultOfflineTimeoutMs: 0 }, 'defaultOfflineTimeoutMs'],
      [{ name: 'r', store, sweepMs: 0 }, 'sweepMs'],
      [{ name: 'r', store, sweepMs: 2 ** 31 }, 'sweepMs'],
      [{ name: 'r', store, types: [{ name: 't', offlineTimeoutMs: NaN }] }, 'offlineTimeoutMs of device type t'],
    ];
    const close = sinon.spy(store, 'close');
    for (const [options, field] of cases) assert.throws(() => new DeviceRegistry(options), refusedFor(field, /sweepMs|Timeout/));
    assert.strictEqual(setInterval.callCount, 0);
    assert.strictEqual(close.callCount, cases.length, 'the store opened for a refused registry is closed');
  });

  it('refuses a device type whose offlineTimeoutMs is not a usable duration', () => {
    assert.throws(
      () => parseDeviceTypes('[{"name":"t","offlineTimeoutMs":0.5}]'),
      refusedFor('deviceTypes', /device type t \(deviceTypes\[0\]\).*offlineTimeoutMs/),
    );
  });

  describe('in Node-RED', () => {
    const MODULES = [registryNode as NodeModule, deviceNode as NodeModule, catchNode];
    const flow = (offlineTimeout: unknown): FlowNode[] => [
      { id: 'reg-config', type: 'm2m-registry', name: 'bad-config', storeType: 'memory', offlineTimeout, deviceTypes: '[]' },
      { id: 'dev', type: 'm2m-device', z: 'f1', registry: 'reg-config', operation: 'touch', autoRegister: true, wires: [['out'], []] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
      { id: 'f1', type: 'tab' },
    ];

    afterEach(async () => {
      await helper.unload();
      MemoryStore.forget('reg-config');
    });

    for (const offlineTimeout of ['', 'abc']) {
      it(`an offlineTimeout of ${JSON.stringify(offlineTimeout)} is logged and shown, and every message of a node using the registry is rejected naming it`, async () => {
        const setInterval = sinon.spy(global, 'setInterval');
        await helper.load(MODULES, flow(offlineTimeout));
        const calls = (method: 'error' | 'status', id: string): unknown[] =>
          (helper.getNode(id)[method] as sinon.SinonSpy)
            .getCalls()
            .filter((call) => (call.thisValue as { id: string }).id === id)
            .map((call) => call.args[0]);
        assert.ok(
          calls('error', 'reg-config').some((m) => /offlineTimeout must be a number of seconds/.test(String(m))),
          'the log names the property',
        );
        assert.deepStrictEqual(calls('status', 'dev').at(-1), { fill: 'red', shape: 'ring', text: 'no registry' });

        for (const deviceId of ['a', 'b']) {
          const caught = nextMessages(helper.getNode('caught'));
          helper.getNode('dev').receive({ deviceId });
          const [msg] = await caught;
          assert.match((msg.error as { message: string }).message, /offlineTimeout must be a number of seconds .*got "(abc)?"/);
        }
        assert.ok(!setInterval.getCalls().some((call) => !((call.args[1] as number) >= 50)), 'no timer with NaN or 0');
      });
    }
  });
});
