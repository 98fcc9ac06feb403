import assert from 'assert';
import { encode } from 'cbor-x';
import { TelemetryDecoder, type DecodedTelemetry } from '../../lib/telemetry';
import { M2MError } from '../../lib/errors';
import * as rfc from './rfc8428-examples';

const NOW = 1_700_000_000_000;
const LABELS: Record<string, number> = { bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8 };

/** The same pack in SenML-CBOR: integer labels (RFC 8428 section 6), vd as a byte string. */
function toCbor(json: string): Buffer {
  const pack = (JSON.parse(json) as Record<string, unknown>[]).map(
    (record) => new Map(Object.entries(record).map(([k, v]) => [LABELS[k], k === 'vd' ? Buffer.from(v as string, 'base64url') : v])),
  );
  return Buffer.from(encode(pack));
}

function plain(records: DecodedTelemetry[]): unknown[] {
  return records.map((r) => ({ deviceId: r.deviceId, timestamp: r.timestamp, payload: r.payload, units: r.units }));
}

const senml = new TelemetryDecoder({ format: 'senml' });
const both = (json: string): [string, unknown[]][] => [
  ['JSON', plain(senml.decode({ payload: json, now: NOW }).records)],
  ['CBOR', plain(senml.decode({ payload: toCbor(json), now: NOW }).records)],
];

describe('senml: RFC 8428 section 5 examples, in JSON and in CBOR', () => {
  it('single datapoint: no base name, so the name is the device and the unit names the metric', () => {
    for (const [encoding, out] of both(rfc.SINGLE_DATAPOINT)) {
      assert.deepStrictEqual(out, [{ deviceId: 'urn:dev:ow:10e2073a01080063', timestamp: NOW, payload: { Cel: 23.1 }, units: { Cel: 'Cel' } }], encoding);
    }
  });

  it('multiple datapoints: base name gives the device (trailing colon dropped), names give metrics', () => {
    for (const [encoding, out] of both(rfc.MULTIPLE_DATAPOINTS)) {
      assert.deepStrictEqual(
        out,
        [{ deviceId: 'urn:dev:ow:10e2073a01080063', timestamp: NOW, payload: { voltage: 120.1, current: 1.2 }, units: { voltage: 'V', current: 'A' } }],
        encoding,
      );
    }
  });

  it('multiple datapoints with base time: each time is its own message; base unit applies', () => {
    const expected = [
      { deviceId: 'urn:dev:ow:10e2073a0108006', timestamp: 1276020076001, payload: { voltage: 120.1, current: 1.7 }, units: { voltage: 'V', current: 'A' } },
      ...[1.2, 1.3, 1.4, 1.5, 1.6].map((v, i) => ({
        deviceId: 'urn:dev:ow:10e2073a0108006',
        timestamp: 1276020076001 - (5 - i) * 1000,
        payload: { current: v },
        units: { current: 'A' },
      })),
    ];
    for (const [encoding, out] of both(rfc.MULTIPLE_DATAPOINTS_TIMED)) assert.deepStrictEqual(out, expected, encoding);
  });

  it('the CBOR bytes printed in RFC 8428 section 6 decode like the JSON', () => {
    const fromRfc = plain(senml.decode({ payload: Buffer.from(rfc.CBOR_SECTION_6_HEX, 'hex'), now: NOW }).records);
    assert.deepStrictEqual(fromRfc, plain(senml.decode({ payload: rfc.MULTIPLE_DATAPOINTS_TIMED, now: NOW }).records));
    const hexString = new TelemetryDecoder({ format: 'senml', senmlEncoding: 'cbor', encoding: 'hex' });
    assert.strictEqual(hexString.decode({ payload: rfc.CBOR_SECTION_6_HEX, now: NOW }).records.length, 6);
  });

  it('multiple measurements: records at five times become five messages, metrics named by unit', () => {
    const t0 = 1320067464000;
    const expected = [
      { t: 0, p: { '%RH': 20, lon: 24.30621, lat: 60.07965 } },
      { t: 60, p: { '%RH': 20.3, lon: 24.30622, lat: 60.07965 } },
      { t: 120, p: { '%RH': 20.7, lon: 24.30623, lat: 60.07966 } },
      { t: 150, p: { '%EL': 98 } },
      { t: 180, p: { '%RH': 21.2, lon: 24.30628, lat: 60.07967 } },
    ].map(({ t, p }) => ({
      deviceId: 'urn:dev:ow:10e2073a01080063',
      timestamp: t0 + t * 1000,
      payload: p,
      units: Object.fromEntries(Object.keys(p).map((k) => [k, k])),
    }));
    for (const [encoding, out] of both(rfc.MULTIPLE_MEASUREMENTS)) assert.deepStrictEqual(out, expected, encoding);
  });

  it('resolved data decodes to the same telemetry as the unresolved pack it resolves', () => {
    for (const [encoding, out] of both(rfc.RESOLVED_DATA)) {
      assert.deepStrictEqual(out, plain(senml.decode({ payload: rfc.MULTIPLE_MEASUREMENTS, now: NOW }).records), encoding);
    }
  });

  it('multiple data types: vs, vb and vd are kept (vd as base64url text)', () => {
    for (const [encoding, out] of both(rfc.MULTIPLE_DATA_TYPES)) {
      assert.deepStrictEqual(
        out,
        [
          {
            deviceId: 'urn:dev:ow:10e2073a01080063',
            timestamp: NOW,
            payload: { temp: 23.1, label: 'Machine Room', open: false, 'nfc-reader': 'aGkgCg' },
            units: { temp: 'Cel' },
          },
        ],
        encoding,
      );
    }
  });

  it('collection of resources: a second base name starts a second device, the base time carries over', () => {
    for (const [encoding, out] of both(rfc.COLLECTION_OF_RESOURCES)) {
      assert.deepStrictEqual(
        out,
        [
          { deviceId: '2001:db8::2', timestamp: 1320078429000, payload: { temperature: 25.2, humidity: 30 }, units: { temperature: 'Cel', humidity: '%RH' } },
          { deviceId: '2001:db8::1', timestamp: 1320078429000, payload: { temperature: 12.3, humidity: 67 }, units: { temperature: 'Cel', humidity: '%RH' } },
        ],
        encoding,
      );
    }
  });

  it('setting an actuator: a record of base fields only sets the base and yields no metric', () => {
    for (const [encoding, out] of both(rfc.SETTING_AN_ACTUATOR)) {
      assert.deepStrictEqual(
        out,
        [{ deviceId: 'urn:dev:ow:10e2073a01080063', timestamp: NOW, payload: { temp: 23.1, heat: 1, fan: 0 }, units: { temp: 'Cel', heat: '/', fan: '/' } }],
        encoding,
      );
    }
  });

  it('lights on and synchronised lights off: names without a base name are devices; relative time t is added', () => {
    for (const [encoding, out] of both(rfc.LIGHTS_ON)) {
      assert.deepStrictEqual(
        out.map((r) => (r as DecodedTelemetry).deviceId),
        ['2001:db8::3', '2001:db8::4'],
        encoding,
      );
    }
    for (const [encoding, out] of both(rfc.LIGHTS_OFF)) {
      assert.deepStrictEqual(
        (out as DecodedTelemetry[]).map((r) => [r.deviceId, r.timestamp, r.payload['/']]),
        [
          ['2001:db8::3', 1320078429000, 0.5],
          ['2001:db8::4', 1320078429000, 0.5],
          ['2001:db8::3', 1320078429100, 0],
          ['2001:db8::4', 1320078429100, 0],
        ],
        encoding,
      );
    }
  });
});

describe('senml: base value, base sum and errors', () => {
  it('adds bv to v and bs to s; a sum is reported as <metric>_sum', () => {
    const out = senml.decode({ payload: '[{"bn":"meter-1/","bv":100,"bs":1000,"n":"energy","u":"kWh","v":5,"s":7}]', now: NOW }).records;
    assert.deepStrictEqual(out[0].payload, { energy: 105, energy_sum: 1007 });
    assert.deepStrictEqual(out[0].units, { energy: 'kWh', energy_sum: 'kWh' });
  });

  it('refuses v + bv or s + bs that overflows to Infinity instead of emitting it as a metric', () => {
    for (const [payload, field] of [
      ['[{"bn":"d:","bv":1.7e308,"n":"a","v":1.7e308}]', 'v + bv'],
      ['[{"bn":"d:","bv":-1.7e308,"n":"a","v":-1.7e308}]', 'v + bv'],
      ['[{"bn":"d:","bs":1.7e308,"n":"a","s":1.7e308}]', 's + bs'],
    ]) {
      assert.throws(
        () => senml.decode({ payload, now: NOW }),
        (err: unknown) =>
          err instanceof M2MError &&
          err.code === 'INVALID_PAYLOAD' &&
          err.message.includes(`record 0: ${field}`) &&
          /overflows to -?Infinity/.test(err.message),
      );
    }
  });

  it('uses a configured device id instead of the base name, and names metrics by their relative name', () => {
    const fixed = new TelemetryDecoder({ format: 'senml', deviceIdFrom: 'fixed', fixedDeviceId: 'pump-7' });
    const [record] = fixed.decode({ payload: rfc.MULTIPLE_DATAPOINTS, now: NOW }).records;
    assert.strictEqual(record.deviceId, 'pump-7');
    assert.deepStrictEqual(record.payload, { voltage: 120.1, current: 1.2 });
  });

  const bad: [string, string, RegExp][] = [
    ['not an array', '{"n":"x","v":1}', /must be an array/],
    ['wrong value type', '[{"bn":"d:","n":"a","v":"1"}]', /record 0 field "v" must be a number/],
    ['two values', '[{"bn":"d:","n":"a","v":1,"vs":"x"}]', /more than one of v, vs, vb, vd/],
    ['no value', '[{"bn":"d:","n":"a"}]', /record 0 has no value/],
    ['newer version', '[{"bn":"d:","bver":11,"n":"a","v":1}]', /version 11/],
    ['hostile name', '[{"bn":"d:","n":"__proto__","v":1}]', /not allowed/],
    ['no device', '[{"v":1}]', /neither a base name nor a name/],
    ['bad JSON', '[{"n":', /not valid JSON/],
  ];
  for (const [what, payload, message] of bad) {
    it(`rejects ${what} with an M2MError naming the record and field`, () => {
      assert.throws(
        () => senml.decode({ payload, now: NOW }),
        (err: unknown) => err instanceof M2MError && message.test(err.message),
      );
    });
  }

  it('rejects packs over the record cap before resolving them', () => {
    const capped = new TelemetryDecoder({ format: 'senml', limits: { maxRecords: 3 } });
    assert.throws(() => capped.decode({ payload: rfc.MULTIPLE_DATAPOINTS_TIMED, now: NOW }), { code: 'TOO_MANY_RECORDS' });
  });

  it('rejects a device id that breaks the id contract', () => {
    assert.throws(() => senml.decode({ payload: '[{"bn":"site/+/x/","n":"a","v":1}]', now: NOW }), { code: 'INVALID_DEVICE_ID' });
  });
});
