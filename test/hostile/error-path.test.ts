import assert from 'assert';
import type { NodeMessage } from '../../nodes/shared/node-red';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import telemetryNode from '../../nodes/m2m-telemetry/m2m-telemetry';
import { catchNode, collect, helper, waitFor, type NodeModule } from '../helpers/node-red';
import { CrashWatch } from './watch';

// The shared error path cannot throw out of a node: when Node-RED cannot copy msg for the Catch node, the Catch
// node gets the error on a small message (same id, req and res kept); a handler's rejection always lands there.

const MODULES = [registryNode as NodeModule, deviceNode as NodeModule, telemetryNode as NodeModule, catchNode];

/** A value Node-RED's deep copy (lodash cloneDeep asks for its tag) cannot read; nothing else looks there. */
const trap = (): object =>
  Object.defineProperty({ t: 1 }, Symbol.toStringTag, {
    enumerable: false,
    get(): never {
      throw new Error('this value cannot be copied');
    },
  });

describe('hostile input: the shared error path', function () {
  this.timeout(20_000);
  const watch = new CrashWatch();
  before(async () => {
    watch.install();
    await helper.load(MODULES, [
      { id: 'f1', type: 'tab' },
      { id: 'reg', type: 'm2m-registry', name: 'error-path', storeType: 'memory', offlineTimeout: 60, deviceTypes: '[{"name":"sensor"}]' },
      { id: 'dev', type: 'm2m-device', z: 'f1', registry: 'reg', operation: 'register', wires: [['out'], []] },
      { id: 'tel', type: 'm2m-telemetry', z: 'f1', format: 'json', deviceIdFrom: 'msg', wires: [['out'], []] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ]);
  });
  after(async () => {
    await helper.unload();
    watch.remove();
  });

  for (const [node, msg, code] of [
    ['dev', { payload: { id: 'bad/1', type: 'sensor' }, trap: trap() }, 'INVALID_DEVICE_ID'],
    ['tel', { deviceId: 'bad-2', payload: 'not json', trap: trap() }, 'INVALID_PAYLOAD'],
  ] as const) {
    it(`${node === 'dev' ? 'm2m-device (rejected promise)' : 'm2m-telemetry (synchronous throw)'}: the error of a message Node-RED cannot copy still reaches the Catch node with its code, and the node keeps working`, async () => {
      const caught = collect(helper.getNode('caught'));
      const out = collect(helper.getNode('out'));
      const res = { marker: 'the http response object' };
      helper.getNode(node).receive({ ...msg, _msgid: `copy-${node}`, res } as NodeMessage);
      await watch.race(waitFor(() => caught.length === 1, 'the error at the Catch node'));
      assert.strictEqual(caught[0]._msgid, `copy-${node}`);
      assert.strictEqual((caught[0].error as { code?: string }).code, code);
      assert.strictEqual(caught[0].res, res, 'msg.res passed on, so an http response can still answer');

      const good: NodeMessage = node === 'dev' ? { payload: { id: 'good-1', type: 'sensor' } } : { deviceId: 'good', payload: '{"t":1}' };
      helper.getNode(node).receive(good);
      await watch.race(waitFor(() => out.length === 1, 'the next message handled'));
      watch.assertClean();
    });
  }
});
