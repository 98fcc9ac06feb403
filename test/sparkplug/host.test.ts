import assert from 'assert';
import { SparkplugHost, type HostEvent } from '../../lib/sparkplug';
import { decodeIndependently, encodeIndependently, type IndependentMetric } from './independent-encoder';

const T = 1_700_000_000_000;
const kinds = (events: HostEvent[]): string[] => events.map((e) => (e.kind === 'problem' ? `problem:${e.code}` : e.kind));

function send(host: SparkplugHost, topic: string, seq: number | undefined, metrics: IndependentMetric[], now = T): HostEvent[] {
  return host.handle(topic, encodeIndependently({ timestamp: now, seq, metrics }), now);
}
const nbirth = (host: SparkplugHost, bdSeq: number, now = T, node = 'E'): HostEvent[] =>
  send(
    host,
    `spBv1.0/G/NBIRTH/${node}`,
    0,
    [
      { name: 'bdSeq', datatype: 8, longValue: bdSeq },
      { name: 'Node Control/Rebirth', datatype: 11, booleanValue: false },
      { name: 'temp', alias: 1, datatype: 10, doubleValue: 20 },
    ],
    now,
  );
const dbirth = (host: SparkplugHost, device: string, seq: number, now = T, node = 'E'): HostEvent[] =>
  send(host, `spBv1.0/G/DBIRTH/${node}/${device}`, seq, [{ name: 'level', alias: 2, datatype: 3, intValue: 1 }], now);

describe('Sparkplug host: sessions, order and rebirths', () => {
  it('seq wraps 255 -> 0 without a rebirth request', () => {
    const host = new SparkplugHost();
    nbirth(host, 0);
    const all: HostEvent[] = [];
    for (let i = 1; i <= 300; i++) all.push(...send(host, 'spBv1.0/G/NDATA/E', i % 256, [{ alias: 1, doubleValue: i }]));
    assert.deepStrictEqual(new Set(kinds(all)), new Set(['data']));
    assert.strictEqual(all.length, 300);
  });

  it('a seq gap asks for one rebirth (Node Control/Rebirth NCMD), rate-limited per edge node, and again after the interval', () => {
    const host = new SparkplugHost({ rebirthIntervalMs: 5000 });
    nbirth(host, 0);
    const gap = send(host, 'spBv1.0/G/NDATA/E', 5, [{ alias: 1, doubleValue: 1 }]);
    assert.deepStrictEqual(kinds(gap), ['data', 'rebirth']);
    const rebirth = gap[1] as Extract<HostEvent, { kind: 'rebirth' }>;
    assert.strictEqual(rebirth.topic, 'spBv1.0/G/NCMD/E');
    assert.match(rebirth.reason, /expected 1, got 5/);
    const decoded = decodeIndependently(rebirth.payload) as { metrics: { name: string; datatype: number; booleanValue: boolean }[] };
    assert.deepStrictEqual(
      decoded.metrics.map((m) => [m.name, m.datatype, m.booleanValue]),
      [['Node Control/Rebirth', 11, true]],
    );
    assert.deepStrictEqual(
      kinds(send(host, 'spBv1.0/G/NDATA/E', 9, [{ alias: 1, doubleValue: 1 }], T + 1000)),
      ['data'],
      'a second gap within the interval asks nothing',
    );
    assert.deepStrictEqual(kinds(send(host, 'spBv1.0/G/NDATA/E', 20, [{ alias: 1, doubleValue: 1 }], T + 6000)), ['data', 'rebirth']);
  });

  it('data before any birth and an unknown alias ask for a rebirth and are reported', () => {
    const host = new SparkplugHost();
    assert.deepStrictEqual(kinds(send(host, 'spBv1.0/G/NDATA/X', 3, [{ alias: 1, doubleValue: 1 }])), ['problem:UNKNOWN_ALIAS', 'rebirth']);
    nbirth(host, 0);
    assert.deepStrictEqual(kinds(send(host, 'spBv1.0/G/NDATA/E', 1, [{ alias: 99, doubleValue: 1 }])), ['problem:UNKNOWN_ALIAS', 'rebirth']);
    assert.deepStrictEqual(kinds(send(host, 'spBv1.0/G/DDATA/E/nobody', 2, [{ name: 'x', datatype: 10, doubleValue: 1 }], T + 10_000)), ['data', 'rebirth']);
  });

  it('an NDEATH with a stale bdSeq is ignored; the matching one kills the node and its devices, metrics stale', () => {
    const host = new SparkplugHost();
    nbirth(host, 7);
    dbirth(host, 'D1', 1);
    const stale = send(host, 'spBv1.0/G/NDEATH/E', undefined, [{ name: 'bdSeq', datatype: 8, longValue: 6 }]);
    assert.deepStrictEqual(kinds(stale), ['ignored']);
    assert.ok(host.catalog('G', 'E'));
    const death = send(host, 'spBv1.0/G/NDEATH/E', undefined, [{ name: 'bdSeq', datatype: 8, longValue: 7 }]);
    assert.deepStrictEqual(
      death.map((e) => [e.kind, e.id, e.kind === 'death' ? e.stale : []]),
      [
        ['death', 'G:E:D1', ['level']],
        ['death', 'G:E', ['temp']],
      ],
    );
    assert.strictEqual(host.catalog('G', 'E'), undefined);
    assert.deepStrictEqual(host.stats(), { edgeNodes: 1, online: 0, devices: 0, aliases: 0 });
  });

  it('DDEATH marks one device dead and releases it', () => {
    const host = new SparkplugHost();
    nbirth(host, 0);
    dbirth(host, 'D1', 1);
    dbirth(host, 'D2', 2);
    const death = send(host, 'spBv1.0/G/DDEATH/E/D1', 3, []);
    assert.deepStrictEqual(
      death.map((e) => [e.kind, e.id]),
      [['death', 'G:E:D1']],
    );
    assert.strictEqual(host.stats().devices, 1);
    assert.strictEqual(host.findById('G:E:D1'), undefined);
    assert.deepStrictEqual(host.findById('G:E:D2'), { group: 'G', node: 'E', device: 'D2', id: 'G:E:D2' });
  });

  it('a flood of births for new device ids stays under the device cap, and a death releases them all', () => {
    const host = new SparkplugHost({ maxDevicesPerNode: 50, maxEdgeNodes: 20 });
    nbirth(host, 0);
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const events = dbirth(host, `flood-${i}`, (i + 1) % 256);
      refused += events.filter((e) => e.kind === 'problem' && e.code === 'TOO_MANY_DEVICES').length;
    }
    assert.strictEqual(refused, 4950);
    assert.deepStrictEqual(host.stats(), { edgeNodes: 1, online: 1, devices: 50, aliases: 51 });
    // and edge nodes: the least recently heard is forgotten at the cap
    for (let n = 0; n < 100; n++) nbirth(host, 0, T, `node-${n}`);
    assert.strictEqual(host.stats().edgeNodes, 20);
    for (let n = 80; n < 100; n++) send(host, `spBv1.0/G/NDEATH/node-${n}`, undefined, [{ name: 'bdSeq', datatype: 8, longValue: 0 }]);
    assert.deepStrictEqual(host.stats(), { edgeNodes: 20, online: 0, devices: 0, aliases: 0 });
  });

  it('a birth declaring more metrics than the cap is refused and reported', () => {
    const host = new SparkplugHost({ maxMetrics: 10 });
    nbirth(host, 0);
    const metrics = Array.from({ length: 11 }, (_, i) => ({ name: `m${i}`, alias: i + 10, datatype: 10, doubleValue: i }));
    assert.deepStrictEqual(kinds(send(host, 'spBv1.0/G/DBIRTH/E/big', 1, metrics)), ['problem:TOO_MANY_RECORDS']);
    assert.strictEqual(host.stats().devices, 0);
  });

  it('STATE, NCMD and DCMD on the namespace are not telemetry; a bad topic or payload throws INVALID_PAYLOAD', () => {
    const host = new SparkplugHost();
    assert.deepStrictEqual(host.handle('spBv1.0/STATE/h1', Buffer.from('{"online":true,"timestamp":1}'), T), []);
    assert.deepStrictEqual(host.handle('spBv1.0/G/DCMD/E/D', Buffer.from([1]), T), []);
    assert.throws(() => host.handle('spBv1.0/G/NDATA/E', Buffer.from([0xff, 0xff]), T), { code: 'INVALID_PAYLOAD' });
    assert.throws(() => host.handle('spBv1.0/G/NOPE/E', Buffer.alloc(0), T), { code: 'INVALID_PAYLOAD' });
  });
});
