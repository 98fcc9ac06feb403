import assert from 'assert';
import fc from 'fast-check';
import { get } from 'sparkplug-payload';
import { catchNode, collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import telemetryNode from '../../nodes/m2m-telemetry/m2m-telemetry';
import * as rfc from './rfc8428-examples';

const MODULES = [registryNode as NodeModule, telemetryNode as NodeModule, catchNode];
const sparkplug = get('spBv1.0') as NonNullable<ReturnType<typeof get>>;

function flow(config: Record<string, unknown>): FlowNode[] {
  return [
    { id: 'tel', type: 'm2m-telemetry', z: 'f1', format: 'json', ...config, wires: [['out'], ['control']] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'control', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'f1', type: 'tab' },
  ];
}

describe('m2m-telemetry node', () => {
  afterEach(() => helper.unload());

  it('decodes a message into the telemetry contract and keeps the other properties of the msg', async () => {
    await helper.load(MODULES, flow({ deviceIdFrom: 'topic', topicPattern: 'devices/{deviceId}/telemetry', timestampPath: 'ts' }));
    const out = collect(helper.getNode('out'));
    helper.getNode('tel').receive({ topic: 'devices/boiler-1/telemetry', payload: '{"ts":1700000000000,"temp":61.5,"on":true}', keep: 'me' });
    await waitFor(() => out.length === 1, 'one telemetry message');
    const msg = out[0];
    assert.strictEqual(msg.deviceId, 'boiler-1');
    assert.deepStrictEqual(msg.payload, { temp: 61.5, on: true });
    assert.strictEqual(msg.timestamp, 1700000000000);
    assert.strictEqual(msg.topic, 'devices/boiler-1/telemetry', 'topic unchanged');
    assert.strictEqual(msg.keep, 'me');
    assert.strictEqual(msg.units, undefined);
  });

  it('with the default device id setting (auto), JSON from MQTT on devices/<id>/telemetry takes the id from the topic', async () => {
    // As the editor saves a new node: deviceIdFrom auto and the default topic pattern; and as a hand-written flow without one.
    for (const config of [{ deviceIdFrom: 'auto', topicPattern: 'devices/{deviceId}/telemetry' }, {}]) {
      await helper.load(MODULES, flow(config));
      const out = collect(helper.getNode('out'));
      const caught = collect(helper.getNode('caught'));
      const tel = helper.getNode('tel');
      tel.receive({ topic: 'devices/boiler-1/telemetry', payload: Buffer.from('{"temp":61.5}') });
      tel.receive({ topic: 'devices/boiler-1/telemetry', deviceId: 'from-msg', payload: '{"temp":60}' });
      tel.receive({ topic: 'sensors/boiler-1', payload: '{"temp":59}' });
      await waitFor(() => out.length === 2 && caught.length === 1, 'two decoded, one refused');
      assert.deepStrictEqual(
        out.map((m) => [m.deviceId, m.payload]),
        [
          ['boiler-1', { temp: 61.5 }],
          ['from-msg', { temp: 60 }],
        ],
        'msg.deviceId still comes first',
      );
      const error = caught[0].error as { code: string; message: string };
      assert.strictEqual(error.code, 'INVALID_DEVICE_ID');
      assert.match(error.message, /topic "sensors\/boiler-1" does not match devices\/\{deviceId\}\/telemetry/);
      await helper.unload();
    }
  });

  it("auto uses a configured topic pattern; the format's own id still wins", async () => {
    await helper.load(MODULES, flow({ format: 'senml', deviceIdFrom: 'auto', topicPattern: 'plant/{deviceId}/data' }));
    const out = collect(helper.getNode('out'));
    const tel = helper.getNode('tel');
    tel.receive({ topic: 'plant/pump-7/data', payload: '[{"n":"temp","v":1}]' }); // names a device: "temp"
    tel.receive({ topic: 'plant/pump-7/data', payload: '[{"bn":"meter-2:","n":"kwh","v":5}]' });
    await waitFor(() => out.length === 2, 'two decoded');
    assert.deepStrictEqual(
      out.map((m) => m.deviceId),
      ['temp', 'meter-2'],
    );
    await helper.unload();
    await helper.load(MODULES, flow({ format: 'kv', deviceIdFrom: 'auto', topicPattern: 'plant/{deviceId}/data' }));
    const kvOut = collect(helper.getNode('out'));
    helper.getNode('tel').receive({ topic: 'plant/pump-7/data', payload: 't=1' });
    await waitFor(() => kvOut.length === 1, 'decoded');
    assert.strictEqual(kvOut[0].deviceId, 'pump-7');
  });

  it('one SenML pack with records at six times sends six messages, each with its own copy of the msg', async () => {
    await helper.load(MODULES, flow({ format: 'senml' }));
    const out = collect(helper.getNode('out'));
    helper.getNode('tel').receive({ topic: 'senml/in', payload: Buffer.from(rfc.CBOR_SECTION_6_HEX, 'hex'), keep: { a: 1 } });
    await waitFor(() => out.length === 6, 'six messages');
    assert.deepStrictEqual(
      out.map((m) => m.timestamp),
      [1276020076001, 1276020071001, 1276020072001, 1276020073001, 1276020074001, 1276020075001],
    );
    assert.ok(out.every((m) => m.deviceId === 'urn:dev:ow:10e2073a0108006' && m.topic === 'senml/in'));
    assert.deepStrictEqual(out[0].units, { voltage: 'V', current: 'A' });
    (out[1].keep as { a: number }).a = 2;
    assert.strictEqual((out[2].keep as { a: number }).a, 1, 'extra messages are clones');
  });

  it('keeps running after every kind of bad input; a Catch node receives each error with its code', async () => {
    await helper.load(
      MODULES,
      flow({
        format: 'binary',
        deviceIdFrom: 'fixed',
        fixedDeviceId: 'meter-1',
        rejectOutput: true,
        maxBytes: 64,
        binarySpec: JSON.stringify([
          { name: 'power', type: 'uint16', byteOffset: 0 },
          { name: 'volts', type: 'uint16', byteOffset: 2, scale: 0.1 },
        ]),
      }),
    );
    const tel = helper.getNode('tel');
    const out = collect(helper.getNode('out'));
    const caught = collect(helper.getNode('caught'));
    const rejected = collect(helper.getNode('control'));
    const bad: [unknown, string][] = [
      [Buffer.from([1, 2, 3]), 'FRAME_TOO_SHORT'],
      ['zz-not-hex-or-base64!', 'INVALID_PAYLOAD'],
      [Buffer.alloc(100), 'PAYLOAD_TOO_LARGE'],
      [{ an: 'object' }, 'INVALID_PAYLOAD'],
      [null, 'INVALID_PAYLOAD'],
    ];
    for (const [payload] of bad) tel.receive({ payload });
    tel.receive({ payload: '000108fc' });
    await waitFor(() => caught.length === bad.length && out.length === 1, 'every error caught and the good frame decoded');
    assert.deepStrictEqual(
      caught.map((m) => (m.error as { code?: string }).code ?? (m.error as { message: string }).message),
      bad.map(([, code]) => code),
    );
    assert.match((caught[0].error as { message: string }).message, /frame is 3 bytes; field "volts" needs bytes 2..3/);
    assert.ok(Buffer.isBuffer(caught[0].payload), 'the original payload stays on the msg');
    assert.deepStrictEqual(
      rejected.map((m) => (m.error as { code: string }).code),
      bad.map(([, code]) => code),
    );
    assert.deepStrictEqual(out[0].payload, { power: 1, volts: 230 });
  });

  it('validates against an inline schema and sends failures to the error path, not output 1', async () => {
    const schema = { type: 'object', properties: { temp: { type: 'number', maximum: 100 } }, required: ['temp'] };
    await helper.load(MODULES, flow({ deviceIdFrom: 'msg', validation: 'inline', schema: JSON.stringify(schema) }));
    const tel = helper.getNode('tel');
    const out = collect(helper.getNode('out'));
    const caught = collect(helper.getNode('caught'));
    tel.receive({ deviceId: 'd1', payload: { temp: 150 } });
    tel.receive({ deviceId: 'd1', payload: { temp: 50 } });
    await waitFor(() => caught.length === 1 && out.length === 1, 'one rejected, one passed');
    assert.strictEqual((caught[0].error as { code: string }).code, 'SCHEMA_VALIDATION');
    assert.match((caught[0].error as { message: string }).message, /\/temp must be <= 100/);
    assert.deepStrictEqual(out[0].payload, { temp: 50 });
  });

  it("validates against the telemetry schema of the device's type in the registry", async () => {
    const types = JSON.stringify([{ name: 'freezer', telemetrySchema: { type: 'object', properties: { temp: { type: 'number', maximum: -10 } } } }]);
    await helper.load(MODULES, [
      { id: 'reg', type: 'm2m-registry', name: `tel-${Math.random().toString(36).slice(2)}`, storeType: 'memory', offlineTimeout: 60, deviceTypes: types },
      ...flow({ deviceIdFrom: 'msg', validation: 'registry', registry: 'reg' }),
    ]);
    const registry = (helper.getNode('reg') as unknown as { registry: import('../../lib/registry/types').DeviceRegistryApi }).registry;
    await registry.ready();
    await registry.register({ id: 'fz-1', type: 'freezer' });
    const tel = helper.getNode('tel');
    const out = collect(helper.getNode('out'));
    const caught = collect(helper.getNode('caught'));
    tel.receive({ deviceId: 'fz-1', payload: { temp: -2 } });
    tel.receive({ deviceId: 'fz-1', payload: { temp: -18 } });
    await waitFor(() => caught.length === 1 && out.length === 1, 'one rejected by the type schema, one passed');
    assert.match((caught[0].error as { message: string }).message, /fz-1 failed schema: \/temp must be <= -10/);
  });

  it('sparkplug: a seq gap sends a rebirth NCMD on output 2', async () => {
    await helper.load(MODULES, flow({ format: 'sparkplug' }));
    const tel = helper.getNode('tel');
    const out = collect(helper.getNode('out'));
    const control = collect(helper.getNode('control'));
    const birth = sparkplug.encodePayload({ seq: 0, timestamp: 1, metrics: [{ name: 'temp', alias: 1, type: 'Float', value: 20 }] });
    const data = sparkplug.encodePayload({ seq: 4, timestamp: 2, metrics: [{ alias: 1, type: 'Float', value: 21 } as never] });
    tel.receive({ topic: 'spBv1.0/g/NBIRTH/n1', payload: Buffer.from(birth) });
    tel.receive({ topic: 'spBv1.0/g/NDATA/n1', payload: Buffer.from(data) });
    await waitFor(() => out.length === 2 && control.length === 1, 'two telemetry messages and one rebirth request');
    assert.deepStrictEqual(
      out.map((m) => m.payload),
      [{ temp: 20 }, { temp: 21 }],
    );
    assert.strictEqual(control[0].topic, 'spBv1.0/g/NCMD/n1');
    assert.deepStrictEqual(sparkplug.decodePayload(control[0].payload as Buffer).metrics?.[0].name, 'Node Control/Rebirth');
  });

  it('a broken configuration shows on the node and every message errors clearly', async () => {
    await helper.load(MODULES, flow({ format: 'binary', binarySpec: '[{"name":"x","type":"uint9","byteOffset":0}]' }));
    const caught = collect(helper.getNode('caught'));
    helper.getNode('tel').receive({ payload: Buffer.from([1]) });
    await waitFor(() => caught.length === 1, 'the configuration error');
    assert.strictEqual((caught[0].error as { code: string }).code, 'INVALID_CONFIG');
  });

  describe('arbitrary input through a running flow: every message gives telemetry or one caught error', () => {
    const PER_FORMAT = 150;
    const cases: [string, Record<string, unknown>, unknown[]][] = [
      ['json', { deviceIdFrom: 'fixed', fixedDeviceId: 'j1' }, ['{"t":1}', { a: 2 }]],
      ['senml', {}, [rfc.MULTIPLE_DATAPOINTS, Buffer.from(rfc.CBOR_SECTION_6_HEX, 'hex')]],
      ['lpp', { deviceIdFrom: 'fixed', fixedDeviceId: 'l1' }, [Buffer.from('03670110056700FF', 'hex')]],
      ['binary', { deviceIdFrom: 'fixed', fixedDeviceId: 'b1', binarySpec: [{ name: 'v', type: 'int16', byteOffset: 1 }] }, [Buffer.from([1, 2, 3])]],
      ['kv', { deviceIdFrom: 'fixed', fixedDeviceId: 'k1' }, ['t=1,h=2', 'a,b\n1,2']],
      ['ttn', {}, [{ end_device_ids: { device_id: 'dev1' }, uplink_message: { decoded_payload: { t: 1 } } }]],
      ['chirpstack', {}, [{ deviceInfo: { devEui: '0101' }, object: { t: 1 } }]],
    ];
    for (const [format, config, valid] of cases) {
      it(format, async () => {
        await helper.load(MODULES, flow({ format, ...config }));
        const tel = helper.getNode('tel');
        const out = collect(helper.getNode('out'));
        const caught = collect(helper.getNode('caught'));
        const inputs = [
          ...fc.sample(fc.anything(), PER_FORMAT / 3),
          ...fc.sample(
            fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
            PER_FORMAT / 3,
          ),
          ...fc.sample(fc.oneof(fc.string(), fc.json()), PER_FORMAT / 3),
          ...valid,
        ];
        inputs.forEach((payload, i) => tel.receive({ _msgid: `m${i}`, payload }));
        const answered = (): Set<unknown> => new Set([...out, ...caught].map((m) => m._msgid));
        await waitFor(() => answered().size === inputs.length, `an answer for each of ${inputs.length} inputs`);
        const errored = new Set(caught.map((m) => m._msgid));
        assert.ok(
          out.every((m) => !errored.has(m._msgid)),
          'no input both decoded and errored',
        );
        assert.strictEqual(caught.length, errored.size, 'one error per bad input');
        valid.forEach((_, k) => assert.ok(!errored.has(`m${inputs.length - valid.length + k}`), 'the valid samples still decode after the bad ones'));
      });
    }
  });
});
