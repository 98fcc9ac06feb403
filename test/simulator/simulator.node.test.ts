import assert from 'assert';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';

function flow(config: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    {
      id: 'sim',
      type: 'm2m-simulator',
      z: 'f1',
      devices: 4,
      idPrefix: 'kiln-',
      interval: 0,
      latency: 0,
      format: 'kv',
      seed: '11',
      ...config,
      wires: [['out']],
    },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

describe('m2m-simulator node', () => {
  afterEach(() => helper.unload());

  it('sends a telemetry round on tick, skips offline devices, answers commands, and shows devices and messages', async () => {
    await helper.load([simulatorNode as NodeModule, catchNode], flow());
    const sim = helper.getNode('sim');
    const out = collect(helper.getNode('out'));
    const badges: string[] = [];
    sim.on('call:status', (call) => badges.push(String((call.args[0] as { text?: string }).text)));
    sim.receive({ action: 'offline', deviceId: 'kiln-002' });
    sim.receive({ action: 'tick' });
    await waitFor(() => out.length === 3, 'three telemetry messages');
    assert.deepStrictEqual(
      out.map((m) => m.topic),
      ['devices/kiln-001/telemetry', 'devices/kiln-003/telemetry', 'devices/kiln-004/telemetry'],
    );
    assert.match(String(out[0].payload), /^temperature=\d+(\.\d+)?$/);
    sim.receive({ topic: 'devices/kiln-004/commands/fire', payload: '{"id":"c1","command":"fire","params":{}}' });
    await waitFor(() => out.length === 4, 'the reply');
    assert.strictEqual(out[3].topic, 'devices/kiln-004/replies');
    assert.deepStrictEqual(out[3].payload, { status: 'ok', result: { device: 'kiln-004', command: 'fire', done: true }, id: 'c1' });
    await waitFor(() => badges.includes('3/4 online · 4 msgs'), 'the badge');
  });

  it('bad input and bad configuration reach a Catch node', async () => {
    await helper.load([simulatorNode as NodeModule, catchNode], flow());
    const caught = collect(helper.getNode('caught'));
    const sim = helper.getNode('sim');
    sim.receive({ action: 'explode' });
    sim.receive({ action: 'offline', deviceId: 'a/b' });
    sim.receive({ topic: 'devices/kiln-001/commands/x', payload: 'not json' });
    await waitFor(() => caught.length === 3, 'three errors');
    assert.deepStrictEqual(
      caught.map((m) => (m.error as { code?: string }).code),
      ['INVALID_FIELD', 'INVALID_DEVICE_ID', 'BAD_COMMAND'],
    );
    await helper.unload();

    await helper.load([simulatorNode as NodeModule, catchNode], flow({ format: 'xml' }));
    const caught2 = collect(helper.getNode('caught'));
    helper.getNode('sim').receive({ action: 'tick' });
    await waitFor(() => caught2.length === 1, 'the configuration error');
    assert.match((caught2[0].error as { message: string }).message, /format must be one of json, senml, lpp, binary, kv/);
  });
});
