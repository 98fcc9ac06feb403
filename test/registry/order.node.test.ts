import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { NodeMessage } from '../../nodes/shared/node-red';
import type { AlarmEvent } from '../../lib/rules';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';

const MODULES = [registryNode as NodeModule, deviceNode as NodeModule, ruleNode as NodeModule];
const TOO_WARM = { name: 'too-warm', metric: 'temp', severity: 'major', raise: { op: '>', value: 30 }, clear: { op: '<', value: 28 } };

// telemetry -> touch (auto-register) -> rule, with the registry's file store on the real file system
const FLOW: FlowNode[] = [
  { id: 'reg', type: 'm2m-registry', name: 'plant', storeType: 'file', offlineTimeout: 60, deviceTypes: '[]' },
  { id: 'dev', type: 'm2m-device', z: 'f1', registry: 'reg', operation: 'touch', autoRegister: true, resultTo: 'device', wires: [['touched', 'rule'], []] },
  { id: 'rule', type: 'm2m-rule', z: 'f1', rules: [TOO_WARM], outputs: 2, wires: [['alarms'], ['evaluated']] },
  { id: 'touched', type: 'helper', z: 'f1' },
  { id: 'evaluated', type: 'helper', z: 'f1' },
  { id: 'alarms', type: 'helper', z: 'f1' },
  { id: 'f1', type: 'tab' },
];

describe('messages of one device keep their order (file store)', () => {
  let userDir: string;
  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-order-'));
    helper.settings({ userDir });
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("a new device's first sample, waiting for its auto-registration to be stored, is not overtaken by the next ones", async () => {
    await helper.load(MODULES, FLOW);
    await (helper.getNode('reg') as unknown as { registry: { ready(): Promise<void> } }).registry.ready();
    const touched = collect(helper.getNode('touched'));
    const alarms = collect(helper.getNode('alarms'));
    const evaluated = collect(helper.getNode('evaluated'));
    const dev = helper.getNode('dev');
    const temps = [35, 20, 35, 20, 35, 20, 35];
    // samples of a second new device are interleaved with them
    temps.forEach((temp, seq) => {
      dev.receive({ deviceId: 'fz-new', payload: { temp }, seq });
      dev.receive({ deviceId: 'fz-other', payload: { temp }, seq });
    });
    await waitFor(() => evaluated.length === 2 * temps.length, 'every sample through m2m-device and m2m-rule');

    const order = (id: string): unknown[] => touched.filter((m) => m.deviceId === id).map((m) => m.seq);
    const inputOrder = temps.map((_t, seq) => seq);
    assert.deepStrictEqual(order('fz-new'), inputOrder, 'fz-new leaves m2m-device in the order it arrived');
    assert.deepStrictEqual(order('fz-other'), inputOrder, 'fz-other leaves m2m-device in the order it arrived');
    const transitions = (id: string): string[] => alarms.filter((m: NodeMessage) => m.deviceId === id).map((m) => (m.payload as AlarmEvent).event);
    const expected = ['raised', 'cleared', 'raised', 'cleared', 'raised', 'cleared', 'raised'];
    assert.deepStrictEqual(transitions('fz-new'), expected, 'm2m-rule sees every transition of fz-new');
    assert.deepStrictEqual(transitions('fz-other'), expected);
  });
});
