import assert from 'assert';
import { get } from 'sparkplug-payload';
import { TelemetryDecoder } from '../../lib/telemetry';

const sparkplug = get('spBv1.0') as NonNullable<ReturnType<typeof get>>;
const T = 1_700_000_000_000;
type Payload = Parameters<typeof sparkplug.encodePayload>[0];
const encode = (payload: Payload): Buffer => Buffer.from(sparkplug.encodePayload(payload));

const NBIRTH = encode({
  timestamp: T,
  seq: 0,
  metrics: [
    { name: 'bdSeq', type: 'UInt64', value: 3 },
    { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
    { name: 'temperature', alias: 1, type: 'Double', value: 21.5, properties: { engUnit: { type: 'String', value: 'Cel' } } },
    { name: 'running', alias: 2, type: 'Boolean', value: true },
    { name: 'offset', alias: 3, type: 'Int8', value: -5 },
    { name: 'uptime', alias: 4, type: 'UInt32', value: 3_000_000_000 },
    { name: 'firmware', alias: 5, type: 'String', value: '1.2.3' },
  ],
});
const ndata = (seq: number, metrics: Payload['metrics']): Buffer => encode({ timestamp: T + 1000, seq, metrics });

function decoder(): TelemetryDecoder {
  return new TelemetryDecoder({ format: 'sparkplug' });
}

describe('sparkplug: Sparkplug B payloads encoded by sparkplug-payload', () => {
  it('NBIRTH: metrics by name with units, control metrics and bdSeq left out, device id from the topic', () => {
    const out = decoder().decode({ payload: NBIRTH, topic: 'spBv1.0/plant/NBIRTH/edge-1', now: T });
    assert.deepStrictEqual(out.records, [
      {
        deviceId: 'edge-1',
        timestamp: T,
        payload: { temperature: 21.5, running: true, offset: -5, uptime: 3_000_000_000, firmware: '1.2.3' },
        units: { temperature: 'Cel' },
      },
    ]);
    assert.strictEqual(out.rebirth, undefined);
  });

  it('NDATA with aliases only resolves names from the birth', () => {
    const d = decoder();
    d.decode({ payload: NBIRTH, topic: 'spBv1.0/plant/NBIRTH/edge-1', now: T });
    const out = d.decode({
      payload: ndata(1, [{ alias: 1, type: 'Double', value: 22.25 } as never, { alias: 2, type: 'Boolean', value: false } as never]),
      topic: 'spBv1.0/plant/NDATA/edge-1',
      now: T,
    });
    assert.deepStrictEqual(out.records[0].payload, { temperature: 22.25, running: false });
    assert.strictEqual(out.records[0].timestamp, T + 1000);
    assert.strictEqual(out.rebirth, undefined);
  });

  it('DBIRTH and DDATA: the device level of the topic is the device id; metrics at different times are separate messages', () => {
    const d = decoder();
    d.decode({ payload: NBIRTH, topic: 'spBv1.0/plant/NBIRTH/edge-1', now: T });
    d.decode({
      payload: encode({ timestamp: T, seq: 1, metrics: [{ name: 'rpm', alias: 10, type: 'Int32', value: 1500 }] }),
      topic: 'spBv1.0/plant/DBIRTH/edge-1/pump-3',
      now: T,
    });
    const out = d.decode({
      payload: encode({
        timestamp: T + 5,
        seq: 2,
        metrics: [{ alias: 10, type: 'Int32', value: 1490, timestamp: T + 1 } as never, { alias: 10, type: 'Int32', value: 1480, timestamp: T + 2 } as never],
      }),
      topic: 'spBv1.0/plant/DDATA/edge-1/pump-3',
      now: T,
    });
    assert.deepStrictEqual(
      out.records.map((r) => [r.deviceId, r.timestamp, r.payload.rpm]),
      [
        ['pump-3', T + 1, 1490],
        ['pump-3', T + 2, 1480],
      ],
    );
  });

  it('a seq gap asks for a rebirth with an NCMD on the node, and still reports what it could read', () => {
    const d = decoder();
    d.decode({ payload: NBIRTH, topic: 'spBv1.0/plant/NBIRTH/edge-1', now: T });
    const out = d.decode({ payload: ndata(5, [{ alias: 1, type: 'Double', value: 23 } as never]), topic: 'spBv1.0/plant/NDATA/edge-1', now: T });
    assert.deepStrictEqual(out.records[0].payload, { temperature: 23 });
    assert.ok(out.rebirth);
    assert.strictEqual(out.rebirth.topic, 'spBv1.0/plant/NCMD/edge-1');
    assert.match(out.rebirth.reason, /seq gap .* expected 1, got 5/);
    const command = sparkplug.decodePayload(out.rebirth.payload);
    assert.deepStrictEqual(
      command.metrics?.map((m) => [m.name, m.value]),
      [['Node Control/Rebirth', true]],
    );
  });

  it('an unknown alias, or data before any birth, asks for a rebirth once rather than on every message', () => {
    const d = decoder();
    const first = d.decode({ payload: ndata(7, [{ alias: 9, type: 'Double', value: 1 } as never]), topic: 'spBv1.0/plant/NDATA/edge-2', now: T });
    assert.deepStrictEqual(first.records, []);
    assert.match(first.rebirth?.reason ?? '', /no NBIRTH seen/);
    assert.deepStrictEqual(first.sparkplug?.unknownAliases, [9]);
    const second = d.decode({ payload: ndata(8, [{ alias: 9, type: 'Double', value: 1 } as never]), topic: 'spBv1.0/plant/NDATA/edge-2', now: T + 100 });
    assert.strictEqual(second.rebirth, undefined);
    d.decode({ payload: NBIRTH, topic: 'spBv1.0/plant/NBIRTH/edge-2', now: T + 200 });
    const unknown = d.decode({ payload: ndata(1, [{ alias: 99, type: 'Double', value: 1 } as never]), topic: 'spBv1.0/plant/NDATA/edge-2', now: T + 300 });
    assert.match(unknown.rebirth?.reason ?? '', /unknown metric alias 99/);
  });

  it('NDEATH and DDEATH report the device offline; a death with a stale bdSeq is ignored', () => {
    const d = decoder();
    d.decode({ payload: NBIRTH, topic: 'spBv1.0/plant/NBIRTH/edge-1', now: T });
    d.decode({
      payload: encode({ timestamp: T, seq: 1, metrics: [{ name: 'rpm', alias: 10, type: 'Int32', value: 1 }] }),
      topic: 'spBv1.0/plant/DBIRTH/edge-1/pump-3',
      now: T,
    });
    const ddeath = d.decode({ payload: encode({ timestamp: T + 9, seq: 2 }), topic: 'spBv1.0/plant/DDEATH/edge-1/pump-3', now: T });
    assert.deepStrictEqual(ddeath.records, [{ deviceId: 'pump-3', timestamp: T + 9, payload: { online: false } }]);
    const stale = d.decode({ payload: encode({ metrics: [{ name: 'bdSeq', type: 'UInt64', value: 2 }] }), topic: 'spBv1.0/plant/NDEATH/edge-1', now: T });
    assert.deepStrictEqual(stale.records, []);
    const ndeath = d.decode({ payload: encode({ metrics: [{ name: 'bdSeq', type: 'UInt64', value: 3 }] }), topic: 'spBv1.0/plant/NDEATH/edge-1', now: T + 20 });
    assert.deepStrictEqual(ndeath.records, [{ deviceId: 'edge-1', timestamp: T + 20, payload: { online: false } }]);
    assert.strictEqual(d.sparkplug.size, 0);
  });

  it('passes over NCMD, DCMD and STATE (no telemetry, no error), so a spBv1.0/# subscription is safe', () => {
    const d = decoder();
    for (const topic of ['spBv1.0/plant/NCMD/edge-1', 'spBv1.0/plant/DCMD/edge-1/pump-3', 'spBv1.0/STATE/scada-1']) {
      assert.deepStrictEqual(d.decode({ payload: Buffer.from('{"online":true}'), topic, now: T }).records, []);
    }
  });

  it('refuses topics outside the Sparkplug namespace and bytes that are not a payload', () => {
    const d = decoder();
    assert.throws(() => d.decode({ payload: NBIRTH, topic: 'devices/x/telemetry', now: T }), /is not spBv1.0/);
    assert.throws(() => d.decode({ payload: NBIRTH, topic: 'spBv1.0/plant/DDATA/edge-1', now: T }), /needs a device level/);
    assert.throws(() => d.decode({ payload: Buffer.from([0x0a, 0xff, 0xff]), topic: 'spBv1.0/plant/NDATA/edge-1', now: T }), { code: 'INVALID_PAYLOAD' });
  });
});
