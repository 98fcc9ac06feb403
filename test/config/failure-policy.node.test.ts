import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { SinonSpy } from 'sinon';
import commandNode from '../../nodes/m2m-command/m2m-command';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import telemetryNode from '../../nodes/m2m-telemetry/m2m-telemetry';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';

// One failure policy for a node whose saved config cannot be used: a red badge, a log line naming the property,
// and every message rejected with INVALID_CONFIG and that property as msg.error's field, so a Catch node sees each.
const MODULES = [registryNode, deviceNode, telemetryNode, ruleNode, commandNode, simulatorNode, catchNode] as NodeModule[];

interface Case {
  what: string;
  type: string;
  config: Record<string, unknown>;
  field: string;
}

const CASES: Case[] = [
  { what: 'a telemetry interval of 0.1 ms (a timer spinning every millisecond)', type: 'm2m-simulator', config: { interval: '0.0001' }, field: 'interval' },
  { what: 'a reply latency that is not a number', type: 'm2m-simulator', config: { latency: 'soon' }, field: 'latency' },
  { what: 'a reply timeout of 0 (every command would time out at once)', type: 'm2m-command', config: { timeout: '0' }, field: 'timeout' },
  { what: 'a queue of 0 commands', type: 'm2m-command', config: { queueSize: '0' }, field: 'queueSize' },
  { what: 'a time to live of 30 days (a Node.js timer that long fires at once)', type: 'm2m-command', config: { ttl: String(30 * 86400) }, field: 'ttl' },
  { what: 'half a device as the device limit', type: 'm2m-rule', config: { maxDevices: '0.5' }, field: 'maxDevices' },
  { what: 'a page size of 0', type: 'm2m-device', config: { registry: 'reg', pageSize: '0' }, field: 'pageSize' },
  { what: 'an unknown lifecycle event', type: 'm2m-device', config: { registry: 'reg', events: 'registered,exploded' }, field: 'events' },
  { what: 'a config saved by a newer release', type: 'm2m-telemetry', config: { version: 99 }, field: 'version' },
  { what: 'a config saved by a newer release', type: 'm2m-simulator', config: { version: 99 }, field: 'version' },
];

function flow(c: Case): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'reg', type: 'm2m-registry', name: 'policy', storeType: 'memory', offlineTimeout: 60, deviceTypes: '[]' },
    { id: 'n', type: c.type, z: 'f1', interval: 0, ...c.config, wires: [[], []] },
    { id: 'catcher', type: 'catch', z: 'f1', scope: ['n'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

/** The test helper spies on the node prototype's methods: the first arguments of one node's calls. */
function argsOf(spy: unknown, id: string): unknown[] {
  return (spy as SinonSpy)
    .getCalls()
    .filter((call) => (call.thisValue as { id?: string }).id === id)
    .map((call) => call.args[0]);
}

describe('a node whose saved config cannot be used', () => {
  let userDir: string;
  before(() => {
    // a store a node opens by mistake (the first release took an unknown store type for the file store) goes here
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-config-policy-'));
    helper.settings({ userDir });
  });
  after(() => {
    helper.settings({ userDir: undefined });
    fs.rmSync(userDir, { recursive: true, force: true });
  });
  afterEach(() => helper.unload());

  for (const c of CASES) {
    it(`${c.type} with ${c.what}: red badge, a log line naming ${c.field}, every message refused with INVALID_CONFIG`, async () => {
      await helper.load(MODULES, flow(c));
      const node = helper.getNode('n');
      const caught = collect(helper.getNode('caught'));
      assert.deepStrictEqual(argsOf(node.status, 'n').at(-1), { fill: 'red', shape: 'ring', text: 'invalid config' });
      const logged = argsOf(node.error, 'n').map(String);
      assert.strictEqual(logged.length, 1, logged.join('\n'));
      assert.match(logged[0], new RegExp(`^${c.type} is not configured correctly: ${c.field}\\b`));
      node.receive({ deviceId: 'd-1', payload: { temp: 1 } });
      node.receive({ deviceId: 'd-2', payload: { temp: 2 } });
      await waitFor(() => caught.length === 2, 'both messages at the Catch node');
      for (const msg of caught) {
        assert.strictEqual((msg.error as { code?: string }).code, 'INVALID_CONFIG');
        assert.strictEqual((msg.m2mError as NodeMessage).field, c.field);
      }
    });
  }

  it('m2m-registry with an unknown store type: red badge, a log line naming storeType, and the nodes using it refuse every message', async () => {
    const c: Case = { what: '', type: 'm2m-device', config: { registry: 'reg' }, field: 'registry' };
    await helper.load(
      MODULES,
      flow(c).map((n) => (n.id === 'reg' ? { ...n, storeType: 'disk' } : n)),
    );
    const registry = helper.getNode('reg');
    assert.match(String(registry.registryError), /^storeType must be one of file, memory, redis, got "disk"/);
    assert.deepStrictEqual(argsOf(registry.status, 'reg').at(-1), { fill: 'red', shape: 'ring', text: 'invalid config' });
    const caught = collect(helper.getNode('caught'));
    helper.getNode('n').receive({ deviceId: 'd-1' });
    await waitFor(() => caught.length === 1, 'the message at the Catch node');
    assert.match((caught[0].error as { message: string }).message, /storeType must be one of/);
  });
});
