import assert from 'assert';
import sinon from 'sinon';
import type { StatusEvent } from '../../lib/command/types';
import { SparkplugCommands, SparkplugHost } from '../../lib/sparkplug';
import { decodeIndependently, encodeIndependently, type IndependentMetric } from './independent-encoder';

const T = 1_700_000_000_000;

describe('Sparkplug commands: NCMD/DCMD writes by name, confirmed by the next data', () => {
  let clock: sinon.SinonFakeTimers;
  let host: SparkplugHost;
  let published: { topic: string; payload: Buffer }[];
  let statuses: StatusEvent[];
  let commands: SparkplugCommands;
  const feed = (topic: string, seq: number | undefined, metrics: IndependentMetric[]): void =>
    commands.observe(host.handle(topic, encodeIndependently({ timestamp: T, seq, metrics }), T));

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: T });
    host = new SparkplugHost();
    published = [];
    statuses = [];
    commands = new SparkplugCommands({ host, publish: (topic, payload) => published.push({ topic, payload }), onStatus: (e) => statuses.push(e) });
    feed('spBv1.0/G/NBIRTH/E', 0, [
      { name: 'bdSeq', datatype: 8, longValue: 0 },
      { name: 'mode', alias: 1, datatype: 12, stringValue: 'auto' },
    ]);
    feed('spBv1.0/G/DBIRTH/E/D', 1, [
      { name: 'setpoint', alias: 10, datatype: 9, floatValue: 20 },
      { name: 'count', alias: 11, datatype: 2, intValue: 0 },
      { name: 'big', alias: 12, datatype: 8, longValue: '0' },
      { name: 'on', alias: 13, datatype: 11, booleanValue: false },
      { name: 'table', alias: 14, datatype: 16, datasetValue: { numOfColumns: 0, columns: [], types: [], rows: [] } },
    ]);
  });
  afterEach(() => clock.restore());

  it('a DCMD carries name, alias and the birth datatype as protobuf at the device topic; the value echoed in DDATA succeeds', () => {
    const sent = commands.write({
      id: 'c1',
      deviceId: 'G:E:D',
      command: 'write',
      params: { setpoint: 21.3, count: -7, big: '18446744073709551615', on: true },
      timeoutMs: 1000,
    });
    assert.strictEqual(sent.status, 'sent');
    assert.strictEqual(published[0].topic, 'spBv1.0/G/DCMD/E/D');
    const decoded = decodeIndependently(published[0].payload) as { metrics: Record<string, unknown>[] };
    assert.deepStrictEqual(
      decoded.metrics.map((m) => [m.name, m.alias, m.datatype]),
      [
        ['setpoint', '10', 9],
        ['count', '11', 2],
        ['big', '12', 8],
        ['on', '13', 11],
      ],
    );
    assert.deepStrictEqual(
      decoded.metrics.map((m) => m.floatValue ?? m.intValue ?? m.longValue ?? m.booleanValue),
      [Math.fround(21.3), 4294967289, '18446744073709551615', true],
    );
    feed('spBv1.0/G/DDATA/E/D', 2, [
      { alias: 10, floatValue: 21.3 },
      { alias: 11, intValue: 4294967289 },
    ]);
    assert.deepStrictEqual(
      statuses.map((s) => s.status),
      [],
      'half the values back is not yet success',
    );
    feed('spBv1.0/G/DDATA/E/D', 3, [
      { alias: 12, longValue: '18446744073709551615' },
      { alias: 13, booleanValue: true },
    ]);
    assert.deepStrictEqual(
      statuses.map((s) => s.status),
      ['succeeded'],
    );
    assert.deepStrictEqual(statuses[0].response, { setpoint: Math.fround(21.3), count: -7, big: '18446744073709551615', on: true });
  });

  it('an NCMD for the edge node; a value never echoed times out; a death fails the write', () => {
    commands.write({ id: 'n1', deviceId: 'G:E', command: 'mode', params: 'manual', timeoutMs: 1000 });
    assert.strictEqual(published[0].topic, 'spBv1.0/G/NCMD/E');
    clock.tick(999);
    assert.strictEqual(statuses.length, 0);
    clock.tick(1);
    assert.deepStrictEqual(
      statuses.map((s) => s.status),
      ['timeout'],
    );
    commands.write({ id: 'd1', deviceId: 'G:E:D', command: 'write', params: { on: true }, timeoutMs: 1000 });
    feed('spBv1.0/G/DDEATH/E/D', 2, []);
    assert.deepStrictEqual(
      statuses.slice(1).map((s) => s.status),
      ['failed'],
    );
    assert.strictEqual(commands.size, 0);
  });

  it('refuses, publishing nothing: an unknown metric, a value that does not suit the datatype, a DataSet, a device not online', () => {
    const write = (params: unknown, deviceId = 'G:E:D'): unknown => commands.write({ id: 'x', deviceId, command: 'write', params, timeoutMs: 1000 });
    assert.throws(() => write({ nope: 1 }), { code: 'UNKNOWN_COMMAND' });
    assert.throws(() => write({ count: 40000 }), { code: 'INVALID_FIELD' });
    assert.throws(() => write({ count: 1.5 }), { code: 'INVALID_FIELD' });
    assert.throws(() => write({ on: 'yes' }), { code: 'INVALID_FIELD' });
    assert.throws(() => write({ setpoint: '20' }), { code: 'INVALID_FIELD' });
    assert.throws(() => write({ table: {} }), { code: 'INVALID_FIELD' });
    assert.throws(() => write({ ['__proto__']: 1 }), { code: 'HOSTILE_KEY' });
    assert.throws(() => write({ on: true }, 'G:E:other'), { code: 'DEVICE_NOT_FOUND' });
    assert.deepStrictEqual(published, []);
  });
});
