import assert from 'assert';
import type { DeviceRegistry } from '../../lib/registry';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import commandNode from '../../nodes/m2m-command/m2m-command';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';
import { catchNode, helper, nextMessages, type NodeModule } from '../helpers/node-red';
import { PrivateRedis, redisServerInstalled, storeState } from './redis-server';

// Containers often start Node-RED before Redis: nodes that keep their state in the registry must not stay
// broken until a redeploy. While Redis is away their messages fail at once; once it is there they work.
describe('nodes keeping state in a Redis registry that starts after Node-RED', () => {
  let redis: PrivateRedis | undefined;

  before(function () {
    if (!redisServerInstalled()) this.skip();
  });
  afterEach(async () => {
    await helper.unload();
    await redis?.stop();
  });

  it('m2m-command: STORE_UNAVAILABLE at once while Redis is away, then commands go out once it is up', async () => {
    redis = await PrivateRedis.create({ startLater: true });
    const flow = [
      { id: 'reg', type: 'm2m-registry', name: 'late-cmd', storeType: 'redis', offlineTimeout: 300, deviceTypes: '[]' },
      { id: 'cmd', type: 'm2m-command', z: 'f1', registry: 'reg', wires: [['out'], ['events']] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'events', type: 'helper', z: 'f1' },
      { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
      { id: 'f1', type: 'tab' },
    ];
    await helper.load([registryNode, commandNode, catchNode] as NodeModule[], flow, { reg: { redisUrl: redis.url() } });
    const registry = helper.getNode('reg').registry as DeviceRegistry;
    await storeState(registry, 'waiting');
    const caught = nextMessages(helper.getNode('caught'));
    helper.getNode('cmd').receive({ deviceId: 'pump-1', command: 'reboot', payload: {} });
    assert.strictEqual(((await caught)[0]?.error as { code?: string }).code, 'STORE_UNAVAILABLE');

    await redis.start();
    await storeState(registry, 'connected');
    await registry.whenLoaded();
    await registry.register({ id: 'pump-1' });
    await registry.touch('pump-1');
    const sent = nextMessages(helper.getNode('out'));
    helper.getNode('cmd').receive({ deviceId: 'pump-1', command: 'reboot', payload: {} });
    const [out] = await sent;
    assert.strictEqual((out?.payload as { command?: string }).command, 'reboot');
  });

  it('m2m-rule: STORE_UNAVAILABLE at once while Redis is away, then alarms are raised once it is up', async () => {
    redis = await PrivateRedis.create({ startLater: true });
    const rules = [{ name: 'hot', metric: 'temp', severity: 'major', raise: { op: '>', value: 30 } }];
    const flow = [
      { id: 'reg', type: 'm2m-registry', name: 'late-rule', storeType: 'redis', offlineTimeout: 300, deviceTypes: '[]' },
      { id: 'rule', type: 'm2m-rule', z: 'f1', registry: 'reg', rules, wires: [['alarms'], []] },
      { id: 'alarms', type: 'helper', z: 'f1' },
      { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
      { id: 'f1', type: 'tab' },
    ];
    await helper.load([registryNode, ruleNode, catchNode] as NodeModule[], flow, { reg: { redisUrl: redis.url() } });
    const registry = helper.getNode('reg').registry as DeviceRegistry;
    await storeState(registry, 'waiting');
    const caught = nextMessages(helper.getNode('caught'));
    helper.getNode('rule').receive({ deviceId: 'oven-1', payload: { temp: 35 } });
    assert.strictEqual(((await caught)[0]?.error as { code?: string }).code, 'STORE_UNAVAILABLE');

    await redis.start();
    await storeState(registry, 'connected');
    await registry.whenLoaded();
    const raised = nextMessages(helper.getNode('alarms'));
    helper.getNode('rule').receive({ deviceId: 'oven-1', payload: { temp: 35 } });
    assert.strictEqual(((await raised)[0]?.payload as { event?: string }).event, 'raised');
  });
});
