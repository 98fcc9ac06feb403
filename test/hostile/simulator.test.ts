import assert from 'assert';
import type { NodeMessage } from '../../nodes/shared/node-red';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import { catchNode, collect, helper, waitFor, type NodeModule } from '../helpers/node-red';
import { each, envelopeCases, payloadCases, tenMegabytes, TOO_DEEP, type ValueCase, withValues, wrongTypes } from './cases';
import { HostileRun, hostileCases, hostileFlow } from './harness';
import { deepJson, deepObject, oddIds, oddNumbers, oddTopics } from './payloads';

const MODULES = [simulatorNode as NodeModule, catchNode];
const hostileValues = (): ValueCase[] => [
  ...each(oddNumbers),
  ...each(wrongTypes()),
  ['a 10 MB string', tenMegabytes],
  ['an object nested 3,000 deep', () => deepObject(), TOO_DEEP],
];

describe('hostile input: m2m-simulator, control and command messages', function () {
  this.timeout(30_000);
  const run = new HostileRun();
  before(() => run.start(MODULES, hostileFlow({ type: 'm2m-simulator', devices: 3, interval: 0, latency: 0, format: 'json', seed: '1', wires: [['out1']] })));
  after(() => run.stop());

  const offline = (): NodeMessage => ({ action: 'offline', deviceId: 'sim-1', forMs: 10 });
  const command = (): NodeMessage => ({ topic: 'devices/sim-1/commands/ping', payload: { id: 'c1', command: 'ping', params: {} } });

  hostileCases(run, [
    ...withValues(offline, 'action', [...each(['__proto__', 'constructor', 'toString', 'TICK']), ...hostileValues()]),
    ...withValues(offline, 'deviceId', [...each(oddIds), ...hostileValues()]),
    ...withValues(offline, 'forMs', [...each([-1, 1e308, '10', 2 ** 31]), ...hostileValues()]),
    ...payloadCases(command),
    ...envelopeCases(command),
    ...withValues(command, 'topic', [...each(oddTopics), ...each(['devices/sim-1/commands/', 'devices/sim-1/commands/#', 'devices/sim-1/commands/__proto__'])]),
    ...withValues(command, 'payload', [
      ['a command nested 3,000 deep, as JSON text', () => `{"id":"c1","command":"ping","params":${deepJson()}}`],
      ...each(['{"id":"__proto__","command":"constructor"}', '{"command":"ping"}']),
    ]),
    ...withValues(command, 'responseTopic', [...each(oddTopics), ...hostileValues()]),
    ...withValues(command, 'correlationData', hostileValues()),
  ]);

  it('still publishes telemetry on a tick afterwards', async () => {
    run.target.receive({ action: 'online' });
    const out = collect(helper.getNode('out1'));
    const outcome = await run.send({ action: 'tick' });
    assert.strictEqual(outcome.error, undefined, outcome.error?.message);
    await waitFor(() => out.length > 0, 'telemetry of the simulated devices');
    run.watch.assertClean();
  });
});
