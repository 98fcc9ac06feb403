import assert from 'assert';
import type { NodeMessage } from '../../nodes/shared/node-red';
import commandNode from '../../nodes/m2m-command/m2m-command';
import { catchNode, collect, helper, waitFor, type NodeModule } from '../helpers/node-red';
import { each, envelopeCases, payloadCases, tenMegabytes, TOO_DEEP, type ValueCase, withValues, wrongTypes } from './cases';
import { HostileRun, hostileCases, hostileFlow } from './harness';
import { deepArrayJson, deepJson, deepObject, oddIds, oddNumbers, oddTopics } from './payloads';

const MODULES = [commandNode as NodeModule, catchNode];

const hostileValues = (): ValueCase[] => [
  ...each(oddNumbers),
  ...each(wrongTypes()),
  ['a 10 MB string', tenMegabytes],
  ['an object nested 3,000 deep', () => deepObject(), TOO_DEEP],
];

describe('hostile input: m2m-command, commands and replies', function () {
  this.timeout(30_000);
  const run = new HostileRun();
  let serial = 0;
  before(() => run.start(MODULES, hostileFlow({ type: 'm2m-command', timeout: 3600, mqtt5: true })));
  after(() => run.stop());

  const good = (): NodeMessage => ({ deviceId: 'good', command: 'ping', payload: { level: 1 } });
  const reply = (): NodeMessage => ({ topic: 'devices/good/replies', payload: { id: 'no-such-command', status: 'ok' } });

  hostileCases(run, [
    ...payloadCases(good),
    ...envelopeCases(good),
    ...withValues(good, 'command', [...each(oddIds), ...hostileValues()]),
    ...withValues(good, 'timeout', [...each([-1, 0, 1e308, '5', 'soon']), ...hostileValues()]),
    ...withValues(good, 'retries', [...each([-1, 1.5, 1e9, '2']), ...hostileValues()]),
    ...withValues(good, 'ttl', [...each([-1, 1e308, '5']), ...hostileValues()]),
    ...withValues(good, 'commandId', [...each(['__proto__', 'constructor', 'a/b', '#', '']), ...hostileValues()]),
    ...[
      ...withValues(reply, 'payload', [
        ...payloadCases(reply).map((c): ValueCase => [c.name.replace('msg.payload: ', ''), () => c.msg().payload, c.codes]),
        ['JSON text of a reply nested 3,000 deep', () => `{"id":"x","result":${deepJson()}}`],
        ['JSON text of arrays 3,000 deep', () => deepArrayJson()],
        ...each(['__proto__', 'constructor', '{"id":"__proto__"}', '{"id":{"toString":1}}', '{"id":"x","status":{"__proto__":1}}']),
        ['an id of 10 MB', () => ({ id: tenMegabytes(), status: 'ok' })],
      ]),
      ...withValues(reply, 'correlationData', [['10 MB', () => Buffer.alloc(10 * 1024 * 1024)], ...hostileValues()]),
      ...withValues(reply, 'topic', [
        ...each(oddTopics),
        ...each(['devices/a+b/replies', 'devices/#/replies', 'devices/\u0000/replies', 'devices/__proto__/replies']),
      ]),
    ].map((c) => ({ ...c, name: `reply: ${c.name}` })),
  ]);

  it('still sends a command afterwards', async () => {
    const commands = collect(helper.getNode('out1'));
    const outcome = await run.send({ deviceId: `after-${++serial}`, command: 'ping', payload: {} });
    assert.strictEqual(outcome.error, undefined, outcome.error?.message);
    await waitFor(() => commands.some((m) => m.topic === `devices/after-${serial}/commands/ping`), 'the command on the first output');
    run.watch.assertClean();
  });
});
