import assert from 'assert';
import type { NodeMessage } from '../../nodes/shared/node-red';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import { catchNode, helper, nextMessages, type NodeModule } from '../helpers/node-red';
import { each, envelopeCases, payloadCases, tenMegabytes, withValues } from './cases';
import { HostileRun, hostileCases, hostileFlow } from './harness';
import { deepObject, wrongTypes } from './payloads';

const MODULES = [registryNode as NodeModule, deviceNode as NodeModule, catchNode];
const OPERATIONS = (process.env.OPS?.split(',') ?? ['register', 'get', 'update', 'remove', 'list', 'touch', 'verify']) as readonly string[];

function flow(operation: string): ReturnType<typeof hostileFlow> {
  // a memory store lives as long as the process, per registry node id
  const registry = {
    id: `reg-${operation}`,
    type: 'm2m-registry',
    name: `hostile-device-${operation}`,
    storeType: 'memory',
    offlineTimeout: 60,
    deviceTypes: '[{"name":"sensor"}]',
  };
  const setup = { id: 'setup', type: 'm2m-device', z: 'f1', registry: registry.id, operation: 'register', issueToken: true, wires: [['registered'], []] };
  return hostileFlow({ type: 'm2m-device', registry: registry.id, operation, autoRegister: true, autoType: 'sensor' }, [
    registry,
    setup,
    { id: 'registered', type: 'helper', z: 'f1' },
  ]);
}

/** Registers a device through the flow's second m2m-device node; resolves with its token. */
async function register(id: string): Promise<string> {
  const done = nextMessages(helper.getNode('registered'));
  helper.getNode('setup').receive({ payload: { id, type: 'sensor' } });
  const [msg] = await done;
  return String(msg.token);
}

for (const operation of OPERATIONS) {
  describe(`hostile input: m2m-device, operation ${operation}`, function () {
    this.timeout(30_000);
    const run = new HostileRun();
    let token = '';
    let serial = 0;
    before(async () => {
      await run.start(MODULES, flow(operation));
      token = await register('known');
    });
    after(() => run.stop());

    const good = (): NodeMessage => {
      switch (operation) {
        case 'register':
          return { payload: { id: `good-${++serial}`, type: 'sensor' } };
        case 'update':
          return { deviceId: 'known', payload: { attributes: { x: 1 } } };
        case 'list':
          return { payload: {} };
        case 'verify':
          return { deviceId: 'known', token };
        default:
          return { deviceId: 'known' };
      }
    };

    hostileCases(run, [
      ...payloadCases(good),
      ...envelopeCases(good),
      ...withValues(good, 'operation', [
        ...each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'REGISTER', '']),
        ...each(wrongTypes()),
        ['an object nested 3,000 deep', () => deepObject(), ['PAYLOAD_TOO_DEEP']],
      ]),
      ...withValues(good, 'token', [
        ['a 10 MB string', tenMegabytes],
        ...each(wrongTypes()),
        ['an object nested 3,000 deep', () => deepObject(), ['PAYLOAD_TOO_DEEP']],
      ]),
    ]);

    it('still works afterwards', async () => {
      if (operation === 'remove') await register('to-remove');
      const msg = operation === 'remove' ? { deviceId: 'to-remove' } : good();
      const outcome = await run.send(msg);
      assert.strictEqual(outcome.error, undefined, outcome.error?.message);
      assert.strictEqual(outcome.outputs.length, 1, 'one result on the first output');
      assert.strictEqual(outcome.outputs[0].operation, operation);
      run.watch.assertClean();
    });
  });
}
