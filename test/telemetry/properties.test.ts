import assert from 'assert';
import fc from 'fast-check';
import { encode as cborEncode } from 'cbor-x';
import { get } from 'sparkplug-payload';
import { M2MError } from '../../lib/errors';
import { isDeviceId } from '../../lib/ids';
import { isHostileKey } from '../../lib/safe';
import { TelemetryDecoder, type DecodeInput, type DecodeOutput, type TelemetryDecoderConfig } from '../../lib/telemetry';
import * as rfc from './rfc8428-examples';

// Arbitrary and mutated inputs for every format: each decode gives telemetry that meets the contract or
// throws an M2MError; never another exception. 10,000 cases per format, run against the codec directly.

const RUNS = 10_000;
const NOW = 1_700_000_000_000;
const sparkplug = get('spBv1.0') as NonNullable<ReturnType<typeof get>>;

function assertContract(output: DecodeOutput): void {
  for (const record of output.records) {
    assert.ok(isDeviceId(record.deviceId), `device id ${record.deviceId}`);
    assert.ok(Number.isSafeInteger(record.timestamp) && record.timestamp >= 0, `timestamp ${record.timestamp}`);
    assert.strictEqual(Object.getPrototypeOf(record.payload), Object.prototype);
    for (const [key, value] of Object.entries(record.payload)) {
      assert.ok(!isHostileKey(key), `hostile key ${key}`);
      const t = typeof value;
      assert.ok((t === 'number' && Number.isFinite(value)) || t === 'string' || t === 'boolean', `${key} is ${t}`);
    }
    for (const unit of Object.values(record.units ?? {})) assert.strictEqual(typeof unit, 'string');
  }
  assert.strictEqual(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype polluted');
}

/** Runs one input and lets only M2MErrors through as the failure path; true when it decoded. */
function decodeOrM2MError(decoder: TelemetryDecoder, input: DecodeInput): boolean {
  let output: DecodeOutput;
  try {
    output = decoder.decode({ now: NOW, ...input });
  } catch (err) {
    if (err instanceof M2MError) return false;
    throw err;
  }
  assertContract(output);
  if (decoder.format !== 'sparkplug') assert.ok(output.records.length > 0, 'decoded to nothing without an error');
  return output.records.length > 0;
}

/** A valid byte string with some bytes replaced, some inserted and maybe its tail cut. */
function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), { maxLength: 4 }), fc.option(fc.nat()))
    .map(([bytes, edits, cut]) => {
      const out = [...bytes];
      for (const [pos, byte, insert] of edits) {
        if (out.length === 0) out.push(byte);
        else if (insert) out.splice(pos % (out.length + 1), 0, byte);
        else out[pos % out.length] = byte;
      }
      return Buffer.from(cut === null ? out : out.slice(0, cut % (out.length + 1)));
    });
}

function mutatedText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return mutated(valid.map((s) => Buffer.from(s))).map((b) => b.toString('latin1'));
}

const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype');
const key = fc.oneof(fc.string({ maxLength: 8 }), hostileKey, fc.constantFrom('t', 'temp', 'ts', 'id'));
const anyValue = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 10 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant([1, 2]),
  fc.dictionary(key, fc.double(), { maxKeys: 3 }),
);

function property(config: TelemetryDecoderConfig, input: fc.Arbitrary<DecodeInput>, runs = RUNS): void {
  const decoder = new TelemetryDecoder(config);
  let decoded = 0;
  fc.assert(
    fc.property(input, (i) => {
      if (decodeOrM2MError(decoder, i)) decoded++;
    }),
    { numRuns: runs },
  );
  // the generators must reach the success path too, or the property says little
  assert.ok(decoded > runs / 20, `only ${decoded} of ${runs} inputs decoded`);
}

describe('property: arbitrary and mutated input gives telemetry or an M2MError (10,000 cases per format)', function () {
  this.timeout(120_000);

  it('json', () => {
    const object = fc.dictionary(key, anyValue, { maxKeys: 6 });
    property(
      { format: 'json', deviceIdFrom: 'msg', timestampPath: 'ts' },
      fc.oneof(
        object.map((payload) => ({ payload, deviceId: 'd-1' })),
        object.map((payload) => ({ payload: JSON.stringify(payload), deviceId: 'd-1' })),
        fc.tuple(key, fc.double()).map(([k, v]) => ({ payload: `{"${k}":${JSON.stringify(v)},"__proto__":{"polluted":1}}`, deviceId: 'd-1' })),
        mutatedText(object.map((o) => JSON.stringify(o))).map((payload) => ({ payload, deviceId: 'd-1' })),
        fc.tuple(fc.anything(), fc.oneof(fc.string(), fc.constant('d-1'))).map(([payload, deviceId]) => ({ payload, deviceId })),
      ),
    );
  });

  const senmlRecord = fc.record(
    {
      bn: fc.oneof(fc.constantFrom('urn:dev:ow:1:', 'dev/', 'a b', ''), anyValue),
      bt: fc.oneof(fc.double(), fc.constantFrom(1.276020076001e9, -5), anyValue),
      bu: fc.oneof(fc.constantFrom('Cel', 'A'), anyValue),
      bv: fc.oneof(fc.double(), anyValue),
      bs: fc.double(),
      bver: fc.oneof(fc.integer({ min: 0, max: 12 }), anyValue),
      n: fc.oneof(fc.constantFrom('temp', 'current', '__proto__', 'x/y'), fc.string({ maxLength: 6 }), anyValue),
      u: fc.oneof(fc.constantFrom('V', '%RH'), anyValue),
      v: fc.oneof(fc.double(), anyValue),
      vs: fc.oneof(fc.string({ maxLength: 6 }), anyValue),
      vb: fc.oneof(fc.boolean(), anyValue),
      vd: fc.string({ maxLength: 6 }),
      s: fc.oneof(fc.double(), anyValue),
      t: fc.oneof(fc.double(), fc.integer({ min: -10, max: 300 }), anyValue),
    },
    { requiredKeys: [] },
  );
  const pack = fc.array(senmlRecord, { maxLength: 6 });
  const validRecord = fc.record(
    { n: fc.constantFrom('temp', 'current', 'x:y', ''), u: fc.constantFrom('V', '%RH'), v: finite, t: fc.integer({ min: -10, max: 300 }), s: finite },
    { requiredKeys: ['v'] },
  );
  const validPack = fc
    .tuple(
      fc.record({ bn: fc.constantFrom('urn:dev:ow:1:', 'dev/', 'plant-3'), bt: fc.constantFrom(1.276020076001e9, 0) }),
      fc.array(validRecord, { minLength: 1, maxLength: 6 }),
    )
    .map(([base, records]) => [{ ...base, ...records[0] }, ...records.slice(1)]);
  const LABELS: Record<string, number> = { bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8 };
  const toCbor = (records: Record<string, unknown>[]): Uint8Array =>
    cborEncode(records.map((r) => new Map(Object.entries(r).map(([k, v]) => [LABELS[k] ?? k, v]))));

  it('senml (JSON and CBOR)', () => {
    const rfcPacks = [rfc.MULTIPLE_DATAPOINTS_TIMED, rfc.MULTIPLE_MEASUREMENTS, rfc.COLLECTION_OF_RESOURCES, rfc.MULTIPLE_DATA_TYPES];
    property(
      { format: 'senml' },
      fc.oneof(
        pack.map((payload) => ({ payload })),
        pack.map((payload) => ({ payload: JSON.stringify(payload) })),
        pack.map((payload) => ({ payload: Buffer.from(toCbor(payload)) })),
        validPack.map((payload) => ({ payload: JSON.stringify(payload) })),
        validPack.map((payload) => ({ payload: Buffer.from(toCbor(payload)) })),
        mutatedText(validPack.map((p) => JSON.stringify(p))).map((payload) => ({ payload })),
        mutated(fc.constant(Buffer.from(rfc.CBOR_SECTION_6_HEX, 'hex'))).map((payload) => ({ payload })),
        mutatedText(fc.constantFrom(...rfcPacks)).map((payload) => ({ payload })),
        fc.uint8Array({ maxLength: 64 }).map((b) => ({ payload: Buffer.from([0x80 | ((b[0] ?? 0) % 32), ...b]) })),
      ),
    );
  });

  // Data sizes as CayenneLPP.h gives them (reference and extended types).
  const LPP_SIZES: Record<number, number> = {
    0: 1,
    1: 1,
    2: 2,
    3: 2,
    100: 4,
    101: 2,
    102: 1,
    103: 2,
    104: 1,
    113: 6,
    115: 2,
    116: 2,
    117: 2,
    118: 4,
    120: 1,
    121: 2,
    125: 2,
    128: 2,
    130: 4,
    131: 4,
    132: 2,
    133: 4,
    134: 6,
    135: 3,
    136: 9,
    142: 1,
  };
  const lppEntry = fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...Object.keys(LPP_SIZES).map(Number)), fc.uint8Array({ minLength: 9, maxLength: 9 }))
    .map(([channel, type, data]) => [channel, type, ...data.slice(0, LPP_SIZES[type])]);
  const lppFrame = fc.array(lppEntry, { minLength: 1, maxLength: 6 }).map((entries) => Uint8Array.from(entries.flat()));

  it('lpp', () => {
    property(
      { format: 'lpp', deviceIdFrom: 'fixed', fixedDeviceId: 'lpp-1' },
      fc.oneof(
        lppFrame.map((bytes) => ({ payload: Buffer.from(bytes) })),
        mutated(lppFrame).map((payload) => ({ payload })),
        fc.uint8Array({ maxLength: 40 }).map((b) => ({ payload: Buffer.from(b) })),
        fc.string({ maxLength: 30 }).map((payload) => ({ payload })),
        lppFrame.map((b) => ({ payload: Buffer.from(b).toString('base64') })),
      ),
    );
  });

  it('binary', () => {
    const spec: TelemetryDecoderConfig['binarySpec'] = [
      { name: 'a', type: 'int16', byteOffset: 0, scale: 0.1 },
      { name: 'b', type: 'float32', byteOffset: 2, endian: 'little' },
      { name: 'c', type: 'uint64', byteOffset: 6 },
      { name: 'd', type: 'bits', byteOffset: 14, bitOffset: 3, bitLength: 9 },
      { name: 'e', type: 'float64', byteOffset: 16 },
    ];
    property(
      { format: 'binary', deviceIdFrom: 'fixed', fixedDeviceId: 'bin-1', binarySpec: spec },
      fc.oneof(
        fc.uint8Array({ minLength: 24, maxLength: 30 }).map((b) => ({ payload: Buffer.from(b) })),
        fc.uint8Array({ maxLength: 30 }).map((b) => ({ payload: Buffer.from(b) })),
        fc.uint8Array({ maxLength: 30 }).map((b) => ({ payload: Buffer.from(b).toString('hex') })),
        fc.string({ maxLength: 60 }).map((payload) => ({ payload })),
        fc.anything().map((payload) => ({ payload })),
      ),
    );
  });

  it('kv (pairs and CSV)', () => {
    const token = fc.oneof(fc.string({ maxLength: 6 }), fc.double().map(String), fc.constantFrom('true', 'false', '"q,x"', '__proto__', 'ts', '1700000000'));
    const pairs = fc.array(fc.tuple(token, token), { minLength: 1, maxLength: 5 }).map((kv) => kv.map(([k, v]) => `${k}=${v}`).join(','));
    const csv = fc
      .tuple(fc.array(token, { minLength: 1, maxLength: 4 }), fc.array(fc.array(token, { maxLength: 5 }), { maxLength: 4 }))
      .map(([h, rows]) => [h.join(','), ...rows.map((r) => r.join(','))].join('\n'));
    property(
      { format: 'kv', deviceIdFrom: 'fixed', fixedDeviceId: 'kv-1', timestampPath: 'ts' },
      fc.oneof(
        pairs.map((payload) => ({ payload })),
        fc.array(pairs, { maxLength: 4 }).map((lines) => ({ payload: lines.join('\n') })),
        csv.map((payload) => ({ payload })),
        mutatedText(fc.constantFrom('t=21.5,h=40', 'ts,t,h\n1700000000000,1,2')).map((payload) => ({ payload })),
        fc.anything().map((payload) => ({ payload })),
      ),
    );
  });

  it('sparkplug (a stateful session across messages)', () => {
    const types = ['Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'Float', 'Double', 'Boolean', 'String'] as const;
    const metric = fc.record({
      name: fc.option(fc.oneof(fc.constantFrom('temp', 'bdSeq', '__proto__', 'Node Control/Rebirth'), fc.string({ maxLength: 6 })), { nil: undefined }),
      alias: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      type: fc.constantFrom(...types),
      n: fc.integer({ min: -100, max: 100 }),
    });
    const valueFor = (type: string, n: number): number | boolean | string =>
      type === 'Boolean' ? n > 0 : type === 'String' ? `s${n}` : type.startsWith('U') ? Math.abs(n) : n;
    const payload = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.array(metric, { maxLength: 5 }), fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }))
      .map(([seq, metrics, timestamp]) =>
        Buffer.from(
          sparkplug.encodePayload({
            seq,
            timestamp,
            metrics: metrics.map((m) => ({
              ...(m.name !== undefined && { name: m.name }),
              ...(m.alias !== undefined && { alias: m.alias }),
              type: m.type,
              value: valueFor(m.type, m.n),
            })) as never,
          }),
        ),
      );
    const topic = fc.oneof(
      fc.constantFrom(
        'spBv1.0/g/NBIRTH/n1',
        'spBv1.0/g/NDATA/n1',
        'spBv1.0/g/DBIRTH/n1/d1',
        'spBv1.0/g/DDATA/n1/d1',
        'spBv1.0/g/DDEATH/n1/d1',
        'spBv1.0/g/NDEATH/n1',
        'spBv1.0/g/NDATA/n 2',
        'spBv1.0/STATE/x',
      ),
      fc.string({ maxLength: 20 }),
    );
    property(
      { format: 'sparkplug' },
      fc.oneof(
        fc.tuple(topic, payload).map(([t, p]) => ({ topic: t, payload: p })),
        fc.tuple(topic, mutated(payload)).map(([t, p]) => ({ topic: t, payload: p })),
        fc.tuple(topic, fc.uint8Array({ maxLength: 40 })).map(([t, p]) => ({ topic: t, payload: Buffer.from(p) })),
      ),
    );
  });

  const uplinkBytes = fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString('base64'));
  it('ttn', () => {
    const validUplink = fc.record({
      end_device_ids: fc.record({ device_id: fc.constantFrom('dev1', 'eui-70b3d57ed0001234') }),
      received_at: fc.constantFrom('2020-02-12T15:15:46.014773143Z', '2024-01-01T00:00:00Z'),
      uplink_message: fc.record({
        frm_payload: lppFrame.map((b) => Buffer.from(b).toString('base64')),
        decoded_payload: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.oneof(finite, fc.boolean(), fc.dictionary(key, finite, { maxKeys: 2 })), {
          minKeys: 1,
          maxKeys: 4,
        }),
      }),
    });
    const uplink = fc.record({
      end_device_ids: fc.oneof(fc.record({ device_id: fc.oneof(fc.constantFrom('dev1', 'a/b'), fc.string({ maxLength: 8 })) }), anyValue),
      received_at: fc.oneof(fc.constantFrom('2020-02-12T15:15:46.014773143Z', 'nope'), anyValue),
      uplink_message: fc.oneof(
        fc.record({
          frm_payload: fc.oneof(uplinkBytes, anyValue),
          decoded_payload: fc.oneof(fc.dictionary(key, anyValue, { maxKeys: 4 }), anyValue),
          f_cnt: fc.nat(),
        }),
        anyValue,
      ),
    });
    const inputs = fc.oneof(
      uplink.map((payload) => ({ payload })),
      validUplink.map((payload) => ({ payload })),
      mutatedText(fc.oneof(uplink, validUplink).map((u) => JSON.stringify(u))).map((payload) => ({ payload })),
    );
    property({ format: 'ttn' }, inputs, RUNS / 2);
    property({ format: 'ttn', innerFormat: 'lpp' }, inputs, RUNS / 2);
  });

  it('chirpstack', () => {
    const validEvent = fc.record({
      deviceInfo: fc.record({ devEui: fc.constantFrom('0101010101010101', '70b3d57ed0001234') }),
      time: fc.constant('2022-07-18T09:34:15.775023242+00:00'),
      data: fc.uint8Array({ minLength: 3, maxLength: 8 }).map((b) => Buffer.from(b).toString('base64')),
      object: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.oneof(finite, fc.string({ maxLength: 4 })), { minKeys: 1, maxKeys: 4 }),
    });
    const event = fc.record({
      deviceInfo: fc.oneof(fc.record({ devEui: fc.oneof(fc.constantFrom('0101010101010101', 'a b'), fc.string({ maxLength: 8 })) }), anyValue),
      time: fc.oneof(fc.constantFrom('2022-07-18T09:34:15.775023242+00:00', 'x'), anyValue),
      data: fc.oneof(uplinkBytes, anyValue),
      object: fc.oneof(fc.dictionary(key, anyValue, { maxKeys: 4 }), anyValue),
    });
    const inputs = fc.oneof(
      event.map((payload) => ({ payload })),
      validEvent.map((payload) => ({ payload })),
      mutatedText(fc.oneof(event, validEvent).map((e) => JSON.stringify(e))).map((payload) => ({ payload })),
    );
    property({ format: 'chirpstack' }, inputs, RUNS / 2);
    property({ format: 'chirpstack', innerFormat: 'binary', binarySpec: [{ name: 'v', type: 'uint16', byteOffset: 1 }] }, inputs, RUNS / 2);
  });
});
