import assert from 'assert';
import Ajv from 'ajv';
import sinon from 'sinon';
import { M2MError } from '../../lib/errors';
import { DeviceRegistry, parseDeviceTypes, type DeviceType } from '../../lib/registry';
import { MemoryStore } from '../../lib/registry/stores/memory';
import { TelemetryValidator } from '../../lib/telemetry/validate';
import { catchNode, helper, nextMessages, type FlowNode, type NodeModule } from '../helpers/node-red';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import deviceNode from '../../nodes/m2m-device/m2m-device';

// A unique schema per test, so the compile cache shared by the process never hides a compile.
const unique = (): string => Math.random().toString(36).slice(2);

function refused(code: string, field: string, message: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof M2MError, String(err));
    assert.deepStrictEqual({ code: err.code, field: err.field }, { code, field });
    assert.match(err.message, message);
    return true;
  };
}

function typesWith(schemaOfMeter: Record<string, unknown>): string {
  return JSON.stringify([{ name: 'freezer' }, { name: 'meter', telemetrySchema: schemaOfMeter }]);
}

describe('device-type schemas are checked and compiled at deploy', () => {
  afterEach(() => sinon.restore());

  it('refuses what cannot run in linear time, naming the path of the pattern and the type; accepts common patterns', () => {
    assert.throws(
      () => parseDeviceTypes(typesWith({ type: 'object', properties: { code: { type: 'string', pattern: '^(\\w+)-\\1$' } } })),
      refused('UNSAFE_PATTERN', 'deviceTypes[1].telemetrySchema.properties.code.pattern', /device type "meter".*backreference.*rewrite/),
    );
    assert.throws(
      () => parseDeviceTypes(typesWith({ patternProperties: { '(?<=x)y': { type: 'number' } } })),
      refused('UNSAFE_PATTERN', 'deviceTypes[1].telemetrySchema.patternProperties["(?<=x)y"]', /lookahead and lookbehind/),
    );
    assert.throws(
      () => parseDeviceTypes(JSON.stringify([{ name: 'fan', commands: { spin: { paramsSchema: { properties: { mode: { pattern: '(a' } } } } } }])),
      refused('INVALID_SCHEMA', 'deviceTypes[0].commands["spin"].paramsSchema.properties.mode.pattern', /not a valid regular expression/),
    );
    assert.throws(
      () => parseDeviceTypes(JSON.stringify([{ name: 'big', attributesSchema: { properties: { serial: { pattern: `^[A-Z]{${5000}}$` } } } }])),
      refused('UNSAFE_PATTERN', 'deviceTypes[0].attributesSchema.properties.serial.pattern', /more than 1000 states/),
    );

    // Common patterns pass, and a `pattern` inside const/enum data is not a regular expression.
    const types = parseDeviceTypes(
      typesWith({
        type: 'object',
        properties: { plate: { pattern: '^[A-Z]{2}-\\d{4}$' }, meta: { const: { pattern: '(a)\\1' } } },
        patternProperties: { '^sensor_(temp|hum)$': { type: 'number' } },
      }),
    );
    const validator = new TelemetryValidator(undefined, () => types[1].telemetrySchema);
    assert.doesNotThrow(() => validator.check('m-1', { plate: 'AB-1234', sensor_temp: 21 }));
    assert.throws(() => validator.check('m-1', { plate: 'AB-12345' }), { code: 'SCHEMA_VALIDATION' });
    assert.throws(() => validator.check('m-1', { sensor_hum: 'wet' }), { code: 'SCHEMA_VALIDATION' });
  });

  it('refuses a 20,000-property schema at registry construction without ever compiling it', () => {
    const compile = sinon.spy(Ajv.prototype, 'compile');
    const properties = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`m${i}_${unique()}`, { type: 'number' }]));
    const types: DeviceType[] = [{ name: 'huge', telemetrySchema: { type: 'object', properties } }];
    assert.throws(
      () => new DeviceRegistry({ name: 'r', store: new MemoryStore(), types }),
      refused('INVALID_SCHEMA', 'deviceTypes[0].telemetrySchema', /too large: more than 2000/),
    );
    assert.strictEqual(compile.callCount, 0);
  });

  it('compiles every schema of every type when the registry is constructed, so no message pays for it', async () => {
    const compile = sinon.spy(Ajv.prototype, 'compile');
    const types: DeviceType[] = [
      {
        name: `t-${unique()}`,
        attributesSchema: { type: 'object', properties: { [`a${unique()}`]: { type: 'number' } } },
        telemetrySchema: { type: 'object', properties: { [`t${unique()}`]: { type: 'number' } } },
        commands: { fan: { paramsSchema: { type: 'object', properties: { [`p${unique()}`]: { type: 'number' } } } } },
      },
    ];
    const registry = new DeviceRegistry({ name: 'r', store: new MemoryStore(), types });
    assert.strictEqual(compile.callCount, 3, 'attributes, telemetry and command parameters compiled at construction');
    await registry.ready();
    await registry.register({ id: 'd-1', type: types[0].name, attributes: {} });
    new TelemetryValidator(undefined, () => types[0].telemetrySchema).check('d-1', { x: 1 });
    assert.strictEqual(compile.callCount, 3, 'no compile on the first message');
    await registry.close();
  });

  it('in Node-RED: the registry logs the refused path and every node using it rejects its messages', async () => {
    const flow: FlowNode[] = [
      {
        id: 'reg-schema',
        type: 'm2m-registry',
        name: 'unsafe',
        storeType: 'memory',
        offlineTimeout: 60,
        deviceTypes: typesWith({ properties: { code: { pattern: '(?=a)b' } } }),
      },
      { id: 'dev', type: 'm2m-device', z: 'f1', registry: 'reg-schema', operation: 'touch', autoRegister: true, wires: [[], []] },
      { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
      { id: 'f1', type: 'tab' },
    ];
    try {
      await helper.load([registryNode as NodeModule, deviceNode as NodeModule, catchNode], flow);
      const logged = (helper.getNode('reg-schema').error as sinon.SinonSpy).getCalls().map((call) => String(call.args[0]));
      assert.ok(
        logged.some((m) => m.includes('deviceTypes[1].telemetrySchema.properties.code.pattern')),
        logged.join('\n'),
      );
      const caught = nextMessages(helper.getNode('caught'));
      helper.getNode('dev').receive({ deviceId: 'm-1' });
      const [msg] = await caught;
      assert.match((msg.error as { message: string }).message, /deviceTypes\[1\]\.telemetrySchema\.properties\.code\.pattern/);
    } finally {
      await helper.unload();
      MemoryStore.forget('reg-schema');
    }
  });
});
