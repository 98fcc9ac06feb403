import assert from 'assert';
import fc from 'fast-check';
import { decode as cborxDecode, encode as cborxEncode } from 'cbor-x';
import { M2MError } from '../../lib/errors';
import { TelemetryDecoder, type DecodedTelemetry } from '../../lib/telemetry';
import { decodeCbor, type CborValue } from '../../lib/telemetry/cbor';

// Our SenML-CBOR reader against hostile payloads, RFC 8949 appendix A, and cbor-x as an independent encoder
// and decoder. cbor-x stays a test-only dependency.

const NOW = 1_700_000_000_000;
const LIMITS = { maxDepth: 8, maxItems: 100_000 };
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s/g, ''), 'hex');
const senml = new TelemetryDecoder({ format: 'senml' });
const senmlCbor = new TelemetryDecoder({ format: 'senml', senmlEncoding: 'cbor' });

function cborHead(major: number, value: number): number[] {
  if (value < 24) return [(major << 5) | value];
  if (value < 0x100) return [(major << 5) | 24, value];
  if (value < 0x10000) return [(major << 5) | 25, value >> 8, value & 0xff];
  return [(major << 5) | 26, (value >>> 24) & 0xff, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

/**
 * The payload from issue 9: a SenML pack whose first record is a map of `entries` labels marked shareable
 * (tag 28), followed by `references` records that each point back at it (tag 29). About 35 KB; a decoder
 * that resolves the references walks the map once per reference.
 */
function sharedReferencePack(entries: number, references: number): Buffer {
  const map: number[] = [...cborHead(5, entries + 2), ...cborHead(1, 1), ...cborHead(3, 3), ...Buffer.from('d1:'), 2, 1];
  for (let key = 0; key < entries; key++) map.push(...cborHead(0, 100 + key), 0);
  const reference = [0xd8, 29, 0x00];
  const records: number[] = [...cborHead(4, references + 1), 0xd8, 28, ...map];
  for (let i = 0; i < references; i++) records.push(...reference);
  return Buffer.from(records);
}

function refused(payload: Buffer, decoder: TelemetryDecoder, code: string, message: RegExp): void {
  assert.throws(
    () => decoder.decode({ payload, now: NOW }),
    (err: unknown) => err instanceof M2MError && err.code === code && message.test(err.message),
  );
}

describe('SenML-CBOR: hostile payloads are refused in time linear in their bytes', () => {
  it('refuses the shared-reference pack of issue 9 (one map referenced 7,500 times in 35 KB) instead of walking it', () => {
    const payload = sharedReferencePack(3000, 7500);
    assert.ok(payload.length > 30_000 && payload.length < 40_000, `payload is ${payload.length} bytes`);
    let error: unknown;
    try {
      senml.decode({ payload, now: NOW });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof M2MError, `refused with an M2MError, got ${String(error)}`);
    assert.strictEqual(error.code, 'INVALID_PAYLOAD');
    assert.match(error.message, /shared references \(CBOR tag 28\) are refused.* at byte offset 3$/);
    assert.deepStrictEqual(error.details, { offset: 3 });
  });

  it('refuses a reference (tag 29) on its own as well', () => {
    refused(hex('82 a2 21 62 64 3a 02 01 d8 1d 00'), senml, 'INVALID_PAYLOAD', /CBOR tag 29\) are refused.* byte offset 8/);
  });

  it('checks the record cap against the array header before decoding any record', () => {
    const capped = new TelemetryDecoder({ format: 'senml', limits: { maxRecords: 3 } });
    // Five records announced; the bytes after the header are not even valid CBOR.
    refused(hex('85 ff ff ff ff ff'), capped, 'TOO_MANY_RECORDS', /more than 3 records/);
    // An indefinite-length pack is counted as it is read.
    refused(hex('9f a1 02 01 a1 02 01 a1 02 01 a1 02 01 ff'), capped, 'TOO_MANY_RECORDS', /more than 3 records/);
  });

  it('counts every map entry against the record budget', () => {
    const capped = new TelemetryDecoder({ format: 'senml', limits: { maxRecords: 1 } });
    const wide = [...cborHead(4, 1), ...cborHead(5, 40)];
    for (let key = 0; key < 40; key++) wide.push(...cborHead(0, 100 + key), 0);
    refused(Buffer.from(wide), capped, 'TOO_MANY_RECORDS', /more than 32 CBOR array elements and map entries/);
  });

  it('refuses nesting deeper than the limit without recursing into it', () => {
    // A record's value nested 100,000 deep ([[[[...]]]]): a recursive decoder without a limit overflows its stack.
    const deep = Buffer.concat([hex('81 a1 02'), Buffer.alloc(100_000, 0x81)]);
    refused(deep, senml, 'INVALID_PAYLOAD', /nesting is deeper than 4 levels at byte offset 5/);
    const deepTags = Buffer.concat([hex('81 a1 02'), Buffer.alloc(60_000, 0xc4)]);
    refused(deepTags, senml, 'INVALID_PAYLOAD', /deeper than 4 levels at byte offset 5/);
    assert.throws(() => decodeCbor(Buffer.alloc(100_000, 0x81), LIMITS), { code: 'INVALID_PAYLOAD', message: /deeper than 8 levels at byte offset 8/ });
  });

  it('refuses a length that the payload cannot hold before allocating anything', () => {
    refused(hex('9b 00 00 00 01 00 00 00 00 a0'), senml, 'INVALID_PAYLOAD', /length 4294967296 exceeds the 1 bytes left at byte offset 0/);
    refused(hex('81 a1 03 7a ff ff ff ff 61'), senml, 'INVALID_PAYLOAD', /length 4294967295 exceeds/);
  });

  const malformed: [string, string, RegExp][] = [
    ['a truncated record', '81 a2 21 62 64 3a 02', /ends inside a data item at byte offset 7/],
    ['a truncated float', '81 a2 21 62 64 3a 02 fb 3f f1', /ends inside a data item at byte offset 10/],
    ['a text longer than the payload', '81 a2 21 62 64', /length 2 exceeds the 1 bytes left at byte offset 3/],
    ['trailing bytes', '81 a2 21 62 64 3a 02 01 00', /1 bytes follow the end of the CBOR value at byte offset 8/],
    ['a break outside an indefinite item', '81 a1 02 ff', /break \(0xff\) outside an indefinite-length item at byte offset 3/],
    ['reserved additional information', '81 a1 02 1c', /reserved additional information 28 at byte offset 3/],
    ['an indefinite integer', '81 a1 02 1f', /indefinite length is not allowed here at byte offset 3/],
    ['invalid UTF-8 in a name', '81 a3 21 62 64 3a 00 62 c3 28 02 01', /not valid UTF-8 at byte offset 7/],
    ['a map key that is an array', '81 a1 80 01', /map key must be an integer or a text string at byte offset 2/],
    ['a duplicate label', '81 a3 21 62 64 3a 02 01 02 02', /record 0 has the label v twice/],
    ['a label given as integer and text', '81 a3 21 62 64 3a 02 01 61 76 02', /record 0 has the label v twice/],
    ['a bignum', '81 a2 21 62 64 3a 02 c2 41 01', /bignums/],
    ['an unknown tag', '81 a2 21 62 64 3a 02 c1 01', /CBOR tag 1 is not supported/],
    [
      'a decimal fraction beyond a double',
      '81 a2 21 62 64 3a 02 c4 82 19 ff ff 01',
      /decimal fraction \(tag 4\) beyond the range of a double at byte offset 7/,
    ],
    ['a pack that is a map', 'a1 02 01', /a SenML pack must be a CBOR array, got major type 5/],
    ['a record that is a number', '81 01', /record 0 must be a CBOR map, got major type 0 at byte offset 1/],
    ['a record marked shareable', '82 d8 1c a1 02 01 d8 1d 00', /shared references \(CBOR tag 28\) are refused.* at byte offset 1/],
  ];
  for (const [what, bytes, message] of malformed) {
    it(`refuses ${what} with INVALID_PAYLOAD naming the byte offset`, () => refused(hex(bytes), senmlCbor, 'INVALID_PAYLOAD', message));
  }

  it('refuses the keys __proto__, constructor and prototype, and builds maps without a prototype', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const payload = Buffer.from([0x81, 0xa3, 0x21, 0x62, 0x64, 0x3a, 0x02, 0x01, ...cborHead(3, key.length), ...Buffer.from(key), 0x01]);
      refused(payload, senml, 'HOSTILE_KEY', new RegExp(`map key "${key}" at byte offset 8 is not allowed`));
    }
    assert.throws(() => decodeCbor(hex('a2 02 01 02 02'), LIMITS), { code: 'INVALID_PAYLOAD', message: /map key "2" appears twice at byte offset 3/ });
    const map = decodeCbor(hex('a2 61 61 01 20 02'), LIMITS) as Record<string, unknown>;
    assert.strictEqual(Object.getPrototypeOf(map), null);
    assert.deepStrictEqual({ ...map }, { a: 1, '-1': 2 });
    assert.strictEqual(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('SenML-CBOR: RFC 8949 appendix A and RFC 8428 section 6', () => {
  const examples: [string, CborValue][] = [
    ['00', 0],
    ['17', 23],
    ['1818', 24],
    ['1903e8', 1000],
    ['1a000f4240', 1000000],
    ['1b000000e8d4a51000', 1000000000000],
    ['1bffffffffffffffff', 2 ** 64], // above 2^53: the nearest double
    ['3bffffffffffffffff', -(2 ** 64)],
    ['20', -1],
    ['3863', -100],
    ['f90000', 0],
    ['f93c00', 1],
    ['f93e00', 1.5],
    ['f97bff', 65504],
    ['fa47c35000', 100000],
    ['fb3ff199999999999a', 1.1],
    ['f90001', 5.960464477539063e-8],
    ['f90400', 0.00006103515625],
    ['f9c400', -4],
    ['f97c00', Infinity],
    ['f9fc00', -Infinity],
    ['f4', false],
    ['f5', true],
    ['f6', null],
    ['c48221196ab3', 273.15],
    ['6449455446', 'IETF'],
    ['62c3bc', '\u00fc'],
    ['64f0908591', '\ud800\udd51'],
    ['4401020304', Uint8Array.from([1, 2, 3, 4])],
    ['5f42010243030405ff', Uint8Array.from([1, 2, 3, 4, 5])],
    ['7f657374726561646d696e67ff', 'streaming'],
    ['9f018202039f0405ffff', [1, [2, 3], [4, 5]]],
    ['83018202039f0405ff', [1, [2, 3], [4, 5]]],
    ['d9d9f780', []],
  ];
  for (const [bytes, expected] of examples) {
    it(`decodes ${bytes}`, () => assert.deepStrictEqual(decodeCbor(hex(bytes), LIMITS), expected));
  }

  it('decodes NaN and maps with integer, text and indefinite forms', () => {
    assert.ok(Number.isNaN(decodeCbor(hex('f97e00'), LIMITS)));
    assert.deepStrictEqual({ ...(decodeCbor(hex('bf61610161629f0203ffff'), LIMITS) as object) }, { a: 1, b: [2, 3] });
  });

  it('reads integer labels written as text, as JavaScript encoders write the keys of plain objects', () => {
    const [record] = senml.decode({ payload: Buffer.from(cborxEncode([{ '-2': 'd1:', 0: 'temp', 2: 21.5 }])), now: NOW }).records;
    assert.deepStrictEqual([record.deviceId, record.payload], ['d1', { temp: 21.5 }]);
  });

  it('reads a SenML value given as a decimal fraction (tag 4), as section 6 allows', () => {
    const [record] = senml.decode({ payload: hex('81 a3 21 62 64 3a 00 61 74 02 c4 82 21 19 6a b3'), now: NOW }).records;
    assert.deepStrictEqual(record.payload, { t: 273.15 });
  });
});

// Random SenML packs in the shapes encoders send, encoded by cbor-x: our reader and cbor-x's must agree.
const LABELS: Record<string, number> = { bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8 };
const number = fc
  .oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    fc.float({ noNaN: true, noDefaultInfinity: true }),
  )
  .map((n) => (Object.is(n, -0) ? 0 : n)); // JSON has no -0
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ maxLength: 300 }));
const senmlRecord = fc.record(
  {
    bn: fc.constantFrom('urn:dev:ow:10e2073a01080063:', 'plant-3/', 'dev-1'),
    bt: fc.oneof(fc.constant(1.276020076001e9), fc.integer({ min: 0, max: 2 ** 31 })),
    bu: fc.constantFrom('Cel', 'A', '%RH'),
    bv: number,
    bs: number,
    bver: fc.integer({ min: 0, max: 10 }),
    n: fc.constantFrom('temp', 'current', 'x:y', 'level'),
    u: text,
    v: number,
    vs: text,
    vb: fc.boolean(),
    vd: fc.uint8Array({ maxLength: 40 }),
    s: number,
    t: fc.oneof(fc.integer({ min: -300, max: 300 }), number),
    ut: number,
  },
  { requiredKeys: [] },
);
const pack = fc.array(senmlRecord, { minLength: 1, maxLength: 12 });
const asCbor = (records: Record<string, unknown>[]): Buffer =>
  Buffer.from(cborxEncode(records.map((r) => new Map(Object.entries(r).map(([k, v]) => [LABELS[k], v])))));

/** cbor-x's and our decoded values in one shape: maps as sorted [key, value] lists, byte strings as arrays. */
function canonical(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(canonical);
  const byKey = (a: [string, unknown], b: [string, unknown]): number => (a[0] < b[0] ? -1 : 1);
  if (value instanceof Map) return [...value.entries()].map(([k, v]): [string, unknown] => [String(k), canonical(v)]).sort(byKey);
  if (value !== null && typeof value === 'object')
    return Object.entries(value)
      .map(([k, v]): [string, unknown] => [k, canonical(v)])
      .sort(byKey);
  return value;
}

function outcome(run: () => DecodedTelemetry[]): unknown {
  try {
    return run().map((r) => ({ deviceId: r.deviceId, timestamp: r.timestamp, payload: { ...r.payload }, units: r.units }));
  } catch (err) {
    if (err instanceof M2MError) return { code: err.code };
    throw err;
  }
}

describe('SenML-CBOR: agreement with cbor-x on random packs', () => {
  it('decodes every cbor-x encoding of a random SenML pack to the value cbor-x decodes', () => {
    fc.assert(
      fc.property(pack, (records) => {
        const bytes = asCbor(records);
        assert.deepStrictEqual(canonical(decodeCbor(bytes, LIMITS)), canonical(cborxDecode(bytes)));
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same telemetry (or the same error) for a random pack in CBOR and in JSON', () => {
    const jsonSafe = (records: Record<string, unknown>[]): Record<string, unknown>[] =>
      records.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('base64url') : v])));
    fc.assert(
      fc.property(pack, (records) => {
        const viaCbor = outcome(() => senml.decode({ payload: asCbor(records), now: NOW }).records);
        const viaJson = outcome(() => senml.decode({ payload: JSON.stringify(jsonSafe(records)), now: NOW }).records);
        assert.deepStrictEqual(viaCbor, viaJson);
      }),
      { numRuns: 500 },
    );
  });
});
