// lib/telemetry/node-config.ts: the node's read settings into a decoder config; JSONata fields are the node's to
// evaluate, paths stay with the decoder's own reader.
import assert from 'assert';
import { TELEMETRY_CONFIG } from '../../nodes/m2m-telemetry/config';
import { decodeInputWith, decoderConfigFromNode, messageFields } from '../../lib/telemetry/node-config';
import { DEFAULT_LIMITS, FORMATS } from '../../lib/telemetry/types';

describe('telemetry node config', () => {
  it('paths (the default) leave nothing for the node to read per message: the decoder reads them', () => {
    const def = TELEMETRY_CONFIG.read({ version: 2, mapping: [{ metric: 't', path: 'a.b' }], timestampPath: 'ts', deviceIdFrom: 'path', deviceIdPath: 'id' });
    assert.deepStrictEqual(messageFields(def), {});
    const config = decoderConfigFromNode(def);
    assert.deepStrictEqual(
      [config.mapping, config.timestampPath, config.deviceIdFrom, config.deviceIdPath],
      [[{ metric: 't', path: 'a.b', type: 'path' }], 'ts', 'path', 'id'],
    );
  });

  it('a JSONata id or time goes to the decoder as msg.deviceId and the time of the message', () => {
    const def = TELEMETRY_CONFIG.read({
      version: 2,
      deviceIdFrom: 'path',
      deviceIdPath: 'payload.serial',
      deviceIdPathType: 'jsonata',
      timestampPath: 'payload.t',
      timestampPathType: 'jsonata',
    });
    const fields = messageFields(def);
    const config = decoderConfigFromNode(def);
    assert.deepStrictEqual([config.deviceIdFrom, config.deviceIdPath, config.timestampPath], ['msg', undefined, undefined]);
    const input = decodeInputWith(
      fields,
      { payload: { x: 1 } },
      new Map<string, unknown>([
        ['deviceIdPath', 42],
        ['timestampPath', '2026-01-01T00:00:00Z'],
      ]),
      DEFAULT_LIMITS,
    );
    assert.deepStrictEqual(input, { payload: { x: 1 }, deviceId: '42', now: Date.parse('2026-01-01T00:00:00Z') });
  });

  it("each default and each list of choices is in one place: the schema takes lib's formats and limits", () => {
    const defaults = TELEMETRY_CONFIG.defaults();
    assert.deepStrictEqual(
      [defaults.maxBytes, defaults.maxRecords, defaults.maxMetrics],
      [DEFAULT_LIMITS.maxBytes, DEFAULT_LIMITS.maxRecords, DEFAULT_LIMITS.maxMetrics],
    );
    assert.deepStrictEqual((TELEMETRY_CONFIG.schema.properties.format as { enum: string[] }).enum, [...FORMATS]);
    assert.throws(() => TELEMETRY_CONFIG.read({ version: 2, format: 'xml' }), { code: 'INVALID_CONFIG', field: 'format' });
  });
});
