import assert from 'assert';
import { TelemetryDecoder, TelemetryValidator } from '../../lib/telemetry';
import type { JsonSchema } from '../../lib/schema';

describe('telemetry validation', () => {
  it("uses the device type's current schema: a changed schema object is compiled afresh", () => {
    let schema: JsonSchema = { type: 'object', properties: { temp: { type: 'number', maximum: 10 } } };
    const validator = new TelemetryValidator(undefined, () => schema);
    assert.throws(() => validator.check('d1', { temp: 20 }), { code: 'SCHEMA_VALIDATION', field: 'temp' });
    schema = { type: 'object', properties: { temp: { type: 'number', maximum: 30 } } };
    validator.check('d1', { temp: 20 });
  });

  it('devices without a schema pass, an invalid inline schema is refused when the node is configured', () => {
    new TelemetryValidator(undefined, () => undefined).check('d1', { anything: 'goes' });
    assert.throws(() => new TelemetryDecoder({ format: 'json', schema: { type: 'nonsense' } }), { code: 'INVALID_SCHEMA' });
  });

  it('msg.format overrides the configured format, and an unknown one is an error', () => {
    const decoder = new TelemetryDecoder({ format: 'json', deviceIdFrom: 'fixed', fixedDeviceId: 'x' });
    assert.deepStrictEqual(decoder.decode({ payload: 't=1', format: 'kv' }).records[0].payload, { t: 1 });
    assert.throws(() => decoder.decode({ payload: 't=1', format: 'xml' }), { code: 'INVALID_CONFIG' });
  });
});
