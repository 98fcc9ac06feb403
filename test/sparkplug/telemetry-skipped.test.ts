import assert from 'assert';
import { DEFAULT_LIMITS } from '../../lib/telemetry';
import { SparkplugSession } from '../../lib/telemetry/sparkplug';
import { encodeIndependently } from './independent-encoder';

// m2m-telemetry's Sparkplug format shares the codec with the host: nothing it cannot put in the flat telemetry
// contract may vanish without a word, and the spec-form UInt32 and DATA without datatype are read.
describe('m2m-telemetry sparkplug: no metric dropped silently', () => {
  const T = 1_700_000_000_000;
  const decode = (session: SparkplugSession, topic: string, seq: number, metrics: Record<string, unknown>[]): ReturnType<SparkplugSession['decode']> =>
    session.decode(topic, encodeIndependently({ timestamp: T, seq, metrics }), T, DEFAULT_LIMITS);

  it('UInt32 in int_value, data by alias without datatype, and null/Bytes/DataSet listed as skipped with why', () => {
    const session = new SparkplugSession();
    decode(session, 'spBv1.0/G/NBIRTH/E', 0, [{ name: 'bdSeq', datatype: 8, longValue: 0 }]);
    const birth = decode(session, 'spBv1.0/G/DBIRTH/E/D', 1, [
      { name: 'u32', alias: 1, datatype: 7, intValue: 4000000000 },
      { name: 'n', alias: 2, datatype: 10, isNull: true },
      { name: 'raw', alias: 3, datatype: 17, bytesValue: Buffer.from([1]) },
    ]);
    assert.deepStrictEqual(birth.records[0].payload, { u32: 4000000000 });
    assert.deepStrictEqual(
      birth.skipped?.map((s) => [s.name, s.reason === 'null' ? 'null' : 'not flat']),
      [
        ['n', 'null'],
        ['raw', 'not flat'],
      ],
    );
    const data = decode(session, 'spBv1.0/G/DDATA/E/D', 2, [
      { alias: 1, intValue: 4000000001 },
      { alias: 3, bytesValue: Buffer.from([2]) },
    ]);
    assert.deepStrictEqual(data.records[0].payload, { u32: 4000000001 });
    assert.deepStrictEqual(
      data.skipped?.map((s) => s.name),
      ['raw'],
    );
  });
});
