import assert from 'assert';
import { encode } from 'cbor-x';
import { encodeSparkplugPayload } from '../../lib/telemetry/sparkplug-codec';
import type { NodeMessage } from '../../nodes/shared/node-red';
import telemetryNode from '../../nodes/m2m-telemetry/m2m-telemetry';
import { catchNode, type NodeModule } from '../helpers/node-red';
import { each, envelopeCases, payloadCases, tenMegabytes, type ValueCase, withValues, wrongTypes } from './cases';
import { HostileRun, hostileCases, hostileFlow } from './harness';
import { cborDeepArrays, cborHugeHeader, deepArrayJson, deepJson, goodCbor, sharedCbor, sharedCborTree, sparkplugDeepTemplates } from './payloads';

const MODULES = [telemetryNode as NodeModule, catchNode];

interface Format {
  name: string;
  config: Record<string, unknown>;
  good: () => NodeMessage;
  /** Hostile values of msg.payload particular to the format. */
  payloads: ValueCase[];
  /** Other hostile messages, whole. */
  messages?: Array<[string, () => NodeMessage]>;
}

const BY_MSG = { deviceIdFrom: 'msg' };
const manyPairs = (n: number, sep = ','): string => Array.from({ length: n }, (_, i) => `k${i}=${i}`).join(sep);
const csv = (columns: number): string =>
  `${Array.from({ length: columns }, (_, i) => `c${i}`).join(',')}\n${Array.from({ length: columns }, () => '1').join(',')}`;
const spTopic = (type: string, device = ''): string => `spBv1.0/plant/${type}/edge-1${device ? `/${device}` : ''}`;
const birth = (): Buffer =>
  encodeSparkplugPayload({
    timestamp: 1_700_000_000_000,
    seq: 0,
    metrics: [
      { name: 'bdSeq', type: 'Int64', value: 0 },
      { name: 't', alias: 1, type: 'Double', value: 1 },
    ],
  });
const ttn = (decoded: unknown, id: unknown = 'good'): Record<string, unknown> => ({
  end_device_ids: { device_id: id },
  uplink_message: { decoded_payload: decoded },
});
const chirpstack = (object: unknown, devEui: unknown = '0011223344556677'): Record<string, unknown> => ({ deviceInfo: { devEui }, object });

const FORMATS: Format[] = [
  {
    name: 'json',
    config: { format: 'json', ...BY_MSG },
    good: () => ({ deviceId: 'good', payload: '{"t":1}' }),
    payloads: [
      ['50 levels of objects, 4 flattened', () => deepJson(50)],
      ['{"__proto__":{"t":1}}', () => '{"__proto__":{"t":1}}'],
      ['a 200 KB key', () => `{"${'k'.repeat(200_000)}":1}`],
    ],
  },
  {
    name: 'senml (JSON)',
    config: { format: 'senml', senmlEncoding: 'json' },
    good: () => ({ payload: '[{"bn":"urn:dev:ow:good:","n":"t","v":1}]' }),
    payloads: [
      ['v + bv overflowing to Infinity', () => '[{"bn":"urn:dev:ow:x:","bv":1.7e308,"n":"t","v":1.7e308}]'],
      ['10,001 records', () => JSON.stringify(Array.from({ length: 10_001 }, (_, i) => ({ n: `urn:dev:ow:x:m${i}`, v: 1 })))],
      ['a record named __proto__', () => '[{"bn":"urn:dev:ow:x:","n":"__proto__","v":1}]'],
      ['bn __proto__', () => '[{"bn":"__proto__","n":"t","v":1}]'],
      ['arrays nested 3,000 deep', () => deepArrayJson()],
    ],
  },
  {
    name: 'senml (CBOR)',
    config: { format: 'senml', senmlEncoding: 'cbor' },
    good: () => ({ payload: goodCbor() }),
    payloads: [
      ['one map shared by 10,000 records (tags 28/29)', () => sharedCbor(10_000, 200)],
      ['2^40 paths through 40 shared arrays (tags 28/29)', () => sharedCborTree(40)],
      ['arrays nested 3,000 deep', () => cborDeepArrays()],
      ['an array header claiming 2^64 items', cborHugeHeader],
      ['a truncated pack', () => goodCbor().subarray(0, goodCbor().length - 2)],
      [
        'NaN and Infinity values',
        () =>
          Buffer.from(
            encode([
              { 0: 'urn:dev:ow:x:a', 2: NaN },
              { 0: 'urn:dev:ow:x:b', 2: Infinity },
            ]),
          ),
      ],
      ['a record named __proto__', () => Buffer.from(encode([{ '-2': 'urn:dev:ow:x:', 0: '__proto__', 2: 1 }]))],
      ['a big integer tag', () => Buffer.from([0x81, 0xa2, 0x00, 0x66, ...Buffer.from('urn:xx'), 0x02, 0xc2, 0x49, 1, 2, 3, 4, 5, 6, 7, 8, 9])],
      ['a hex string of a shared pack', () => sharedCbor(10_000, 200).toString('hex')],
    ],
  },
  {
    name: 'lpp',
    config: { format: 'lpp', ...BY_MSG },
    good: () => ({ deviceId: 'good', payload: Buffer.from([0x01, 0x67, 0x00, 0xe1]) }),
    payloads: [
      ['a truncated entry', () => Buffer.from([0x01, 0x67, 0x00])],
      ['an unknown type', () => Buffer.from([0x01, 0xff, 0x00])],
      ['256 KiB of entries', () => Buffer.alloc(256 * 1024, 0x01)],
      ['odd-length hex', () => '0167e'],
      ['text that is neither hex nor base64', () => 'not bytes!'],
      ['a byte array with 300', () => [1, 0x67, 300, 1]],
    ],
  },
  {
    name: 'binary',
    config: {
      format: 'binary',
      ...BY_MSG,
      binarySpec: JSON.stringify([
        { name: 't', type: 'uint16', byteOffset: 0 },
        { name: 'f', type: 'float32', byteOffset: 2 },
      ]),
    },
    good: () => ({ deviceId: 'good', payload: Buffer.from([0, 1, 0x3f, 0x80, 0, 0]) }),
    payloads: [
      ['a truncated frame', () => Buffer.from([0])],
      ['an empty frame', () => Buffer.alloc(0)],
      ['a NaN float', () => Buffer.from([0, 1, 0x7f, 0xc0, 0, 0])],
      ['an Infinity float', () => Buffer.from([0, 1, 0x7f, 0x80, 0, 0])],
    ],
  },
  {
    name: 'kv',
    config: { format: 'kv', ...BY_MSG },
    good: () => ({ deviceId: 'good', payload: 't=1' }),
    payloads: [
      ['25,000 pairs', () => manyPairs(25_000)],
      ['CSV with 25,000 columns', () => csv(25_000)],
      ['100,000 lines', () => manyPairs(100_000, '\n')],
      ['__proto__=1', () => '__proto__=1'],
      ['constructor=1,prototype=2', () => 'constructor=1,prototype=2'],
      ['an unbalanced quote', () => 'a,b\n"1,2'],
      ['NUL bytes', () => 't\u0000=1\u0000'],
      ['only separators', () => '=,=,=;;\n\n'],
      ['NaN and Infinity', () => 't=NaN,u=Infinity,v=-Infinity,w=1e999'],
    ],
  },
  {
    name: 'sparkplug',
    config: { format: 'sparkplug' },
    good: () => ({ topic: spTopic('NBIRTH'), payload: birth() }),
    payloads: [
      ['templates nested 3,000 deep', () => sparkplugDeepTemplates()],
      ['a truncated payload', () => birth().subarray(0, 7)],
      ['random bytes', () => Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) & 0xff))],
      ['a metric named __proto__', () => encodeSparkplugPayload({ seq: 0, metrics: [{ name: '__proto__', type: 'Double', value: 1 }] })],
      [
        'NaN and Infinity metrics',
        () =>
          encodeSparkplugPayload({
            seq: 0,
            metrics: [
              { name: 'a', type: 'Double', value: NaN },
              { name: 'b', type: 'Float', value: Infinity },
            ],
          }),
      ],
    ],
    messages: [
      ['NDATA before any birth, on an odd device', () => ({ topic: spTopic('DDATA', 'a+b'), payload: birth() })],
      ['a topic with NUL', () => ({ topic: 'spBv1.0/pl\u0000ant/NDATA/edge-1', payload: birth() })],
      ['a topic with 10,000 levels', () => ({ topic: `spBv1.0/${'a/'.repeat(10_000)}NDATA/e`, payload: birth() })],
      ['a DBIRTH of a device never seen', () => ({ topic: spTopic('DBIRTH', `d${Math.random()}`), payload: birth() })],
    ],
  },
  {
    name: 'ttn',
    config: { format: 'ttn' },
    good: () => ({ payload: ttn({ t: 1 }) }),
    payloads: [
      ['decoded_payload nested 3,000 deep, as JSON text', () => `{"end_device_ids":{"device_id":"x"},"uplink_message":{"decoded_payload":${deepJson()}}}`],
      ['decoded_payload with hostile keys', () => ttn(JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"t":1}'))],
      ['a device id with / and #', () => ttn({ t: 1 }, 'a/#')],
      ['a device id that is an object', () => ttn({ t: 1 }, { toString: 'x' })],
      ['frm_payload of 10 MB', () => ({ end_device_ids: { device_id: 'x' }, uplink_message: { frm_payload: tenMegabytes() } })],
      ['uplink_message of the wrong type', () => ({ end_device_ids: { device_id: 'x' }, uplink_message: 'text' })],
    ],
  },
  {
    name: 'chirpstack',
    config: { format: 'chirpstack' },
    good: () => ({ payload: chirpstack({ t: 1 }) }),
    payloads: [
      ['object nested 3,000 deep, as JSON text', () => `{"deviceInfo":{"devEui":"0011223344556677"},"object":${deepJson()}}`],
      ['object with hostile keys', () => chirpstack(JSON.parse('{"__proto__":{"polluted":1},"t":1}'))],
      ['a devEui with NUL', () => chirpstack({ t: 1 }, 'ab\u0000cd')],
      ['data of 10 MB', () => ({ deviceInfo: { devEui: '0011223344556677' }, data: tenMegabytes() })],
      ['deviceInfo of the wrong type', () => ({ deviceInfo: [1, 2], object: { t: 1 } })],
    ],
  },
];

for (const format of FORMATS) {
  describe(`hostile input: m2m-telemetry, format ${format.name}`, function () {
    this.timeout(30_000);
    const run = new HostileRun();
    before(() => run.start(MODULES, hostileFlow({ type: 'm2m-telemetry', rejectOutput: true, ...format.config })));
    after(() => run.stop());

    hostileCases(run, [
      ...withValues(format.good, 'payload', format.payloads),
      ...(format.messages ?? []).map(([name, msg]) => ({ name, msg })),
      ...payloadCases(format.good),
      ...envelopeCases(format.good),
      ...withValues(format.good, 'format', [...each(['__proto__', 'constructor', 'toString', 'senml', 'sparkplug', 'JSON']), ...each(wrongTypes())]),
    ]);

    it('still decodes a good message afterwards', async () => {
      const outcome = await run.send(format.good());
      assert.strictEqual(outcome.error, undefined, outcome.error?.message);
      assert.ok(outcome.outputs.length >= 1, 'telemetry on the first output');
      run.watch.assertClean();
    });
  });
}
