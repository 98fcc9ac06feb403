// JSONata as an option where m2m-telemetry maps fields (mapping rows, timestamp, device id): compiled once at deploy
// with Node-RED's own JSONata, evaluated once per message against msg; paths stay the default and the fast reader.
import assert from 'assert';
import type { SinonSpy } from 'sinon';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import telemetryNode from '../../nodes/m2m-telemetry/m2m-telemetry';
import { TELEMETRY_CONFIG } from '../../nodes/m2m-telemetry/config';

const MODULES = [registryNode as NodeModule, telemetryNode as NodeModule, catchNode];

function flow(config: Record<string, unknown>): FlowNode[] {
  return [
    { id: 'tel', type: 'm2m-telemetry', z: 'f1', format: 'json', version: 2, ...config, wires: [['out'], ['control']] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'control', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'f1', type: 'tab' },
  ];
}

const READINGS = {
  serial: 42,
  at: '2026-11-30T01:00:00Z',
  readings: [
    { name: 'temp', value: 21.5 },
    { name: 'hum', value: 40 },
  ],
  battery: { mv: 3600 },
};

describe('m2m-telemetry: JSONata where fields are mapped', () => {
  afterEach(() => helper.unload());

  it('a mapping row, the timestamp and the device id as JSONata, beside a path row', async () => {
    await helper.load(
      MODULES,
      flow({
        mapping: [
          { metric: 'temp', path: 'payload.readings[name="temp"].value', type: 'jsonata' },
          { metric: 'battery_v', path: 'payload.battery.mv / 1000', type: 'jsonata' },
          { metric: 'mv', path: 'battery.mv', type: 'path' },
        ],
        timestampPath: 'payload.at',
        timestampPathType: 'jsonata',
        deviceIdFrom: 'path',
        deviceIdPath: '"sensor-" & $string(payload.serial)',
        deviceIdPathType: 'jsonata',
      }),
    );
    const out = collect(helper.getNode('out'));
    helper.getNode('tel').receive({ payload: JSON.stringify(READINGS), keep: 'me' });
    await waitFor(() => out.length === 1, 'one telemetry message');
    assert.strictEqual(out[0].deviceId, 'sensor-42');
    assert.deepStrictEqual(out[0].payload, { temp: 21.5, battery_v: 3.6, mv: 3600 });
    assert.strictEqual(out[0].timestamp, Date.parse('2026-11-30T01:00:00Z'));
    assert.strictEqual(out[0].keep, 'me');
  });

  it('JSONata for the device id alone leaves the rest to the fast reader, for each record of an array', async () => {
    await helper.load(MODULES, flow({ deviceIdFrom: 'path', deviceIdPath: '$split(topic, "/")[1]', deviceIdPathType: 'jsonata', timestampPath: 'ts' }));
    const out = collect(helper.getNode('out'));
    helper.getNode('tel').receive({
      topic: 'site/pump-3/up',
      payload: [
        { ts: 1_700_000_000_000, flow: 3 },
        { ts: 1_700_000_060_000, flow: 4 },
      ],
    });
    await waitFor(() => out.length === 2, 'a message per record');
    assert.deepStrictEqual(
      out.map((m) => [m.deviceId, m.payload, m.timestamp]),
      [
        ['pump-3', { flow: 3 }, 1_700_000_000_000],
        ['pump-3', { flow: 4 }, 1_700_000_060_000],
      ],
    );
  });

  it('messages leave in the order they came while their expressions are evaluated', async () => {
    await helper.load(MODULES, flow({ deviceIdFrom: 'fixed', fixedDeviceId: 'd1', mapping: [{ metric: 'n', path: 'payload.n', type: 'jsonata' }] }));
    const out = collect(helper.getNode('out'));
    const tel = helper.getNode('tel');
    for (let n = 0; n < 200; n++) tel.receive({ payload: { n } });
    await waitFor(() => out.length === 200, 'all 200');
    assert.deepStrictEqual(
      out.map((m) => (m.payload as { n: number }).n),
      [...Array(200).keys()],
    );
  });

  it('an invalid expression is refused at deploy: red badge, a log line and INVALID_CONFIG naming the field', async () => {
    for (const [config, field] of [
      [{ mapping: [{ metric: 'temp', path: 'payload.(', type: 'jsonata' }] }, 'mapping[0].path'],
      [{ timestampPath: '$$$nope(', timestampPathType: 'jsonata' }, 'timestampPath'],
      [{ deviceIdFrom: 'path', deviceIdPath: '', deviceIdPathType: 'jsonata' }, 'deviceIdPath'],
      [{ format: 'kv', mapping: [{ metric: 'temp', path: 'payload.t', type: 'jsonata' }] }, 'mapping'],
    ] as const) {
      await helper.load(MODULES, flow(config));
      const tel = helper.getNode('tel');
      const caught = collect(helper.getNode('caught'));
      const statuses = (tel.status as unknown as SinonSpy).getCalls().map((c) => c.args[0] as unknown);
      assert.deepStrictEqual(statuses.at(-1), { fill: 'red', shape: 'ring', text: 'invalid config' }, field);
      tel.receive({ payload: { t: 1 } });
      await waitFor(() => caught.length === 1, 'the configuration error');
      assert.strictEqual((caught[0].error as { code: string }).code, 'INVALID_CONFIG');
      assert.strictEqual((caught[0].m2mError as { field: string }).field, field);
      await helper.unload();
    }
  });

  it('a result that is not a metric value, or an expression that fails on a message, is INVALID_PAYLOAD naming the row', async () => {
    await helper.load(MODULES, flow({ deviceIdFrom: 'fixed', fixedDeviceId: 'd1', mapping: [{ metric: 'r', path: 'payload.readings', type: 'jsonata' }] }));
    const out = collect(helper.getNode('out'));
    const caught = collect(helper.getNode('caught'));
    const tel = helper.getNode('tel');
    tel.receive({ payload: READINGS });
    tel.receive({ payload: [READINGS] });
    tel.receive({ payload: { readings: 7 } });
    await waitFor(() => caught.length === 2 && out.length === 1, 'two refused, one decoded');
    assert.deepStrictEqual(
      caught.map((m) => [(m.error as { code: string }).code, (m.m2mError as { field: string }).field]),
      [
        ['INVALID_PAYLOAD', 'mapping[0].path'],
        ['INVALID_PAYLOAD', 'payload'],
      ],
    );
    assert.deepStrictEqual(out[0].payload, { r: 7 });
  });

  it('a flow saved before JSONata (version 1, rows without a type) still reads paths, and migrates to version 2', async () => {
    const saved = {
      version: 1,
      format: 'json',
      mapping: [{ metric: 'temp', path: 'sensors[0].value' }],
      timestampPath: 'ts',
      deviceIdFrom: 'fixed',
      fixedDeviceId: 'b1',
    };
    const read = TELEMETRY_CONFIG.read(saved);
    assert.deepStrictEqual(
      [read.version, read.mapping, read.timestampPathType, read.deviceIdPathType],
      [2, [{ metric: 'temp', path: 'sensors[0].value', type: 'path' }], 'path', 'path'],
    );
    await helper.load(MODULES, flow(saved));
    const out = collect(helper.getNode('out'));
    helper.getNode('tel').receive({ payload: { ts: 1_700_000_000_000, sensors: [{ value: 5 }] } });
    await waitFor(() => out.length === 1, 'decoded');
    assert.deepStrictEqual([out[0].payload, out[0].timestamp], [{ temp: 5 }, 1_700_000_000_000]);
  });
});
