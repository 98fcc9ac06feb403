import assert from 'assert';
import { TelemetryDecoder } from '../../lib/telemetry';
import { M2MError } from '../../lib/errors';

const NOW = 1_700_000_000_000;

/** The uplink message example of The Things Stack's "Data Formats" documentation. */
const TTN_UPLINK = {
  end_device_ids: {
    device_id: 'dev1',
    application_ids: { application_id: 'app1' },
    dev_eui: '0004A30B001C0530',
    join_eui: '800000000000000C',
    dev_addr: '00BCB929',
  },
  correlation_ids: [
    'as:up:01E0WZGT6Y7657CPFPE5WEYDSQ',
    'gs:conn:01E0WDEC6T5T4XXBAX7S1VMFKE',
    'gs:uplink:01E0WZGSZWT07NE5TS2APTV1Z9',
    'ns:uplink:01E0WZGSZXZXZS8RFAWZX0F2FY',
    'rpc:/ttn.lorawan.v3.GsNs/HandleUplink:01E0WZGSZXGE1KS577PFBWRJEE',
  ],
  received_at: '2020-02-12T15:15:46.014773143Z',
  uplink_message: {
    session_key_id: 'AXA50tHUGUucuzS/bCGMNw==',
    f_cnt: 1,
    frm_payload: 'gkHe',
    decoded_payload: { temperature: 1.0, luminosity: 0.64 },
    rx_metadata: [
      {
        gateway_ids: { gateway_id: 'gtw1', eui: '9C5C8E00001A05C4' },
        time: '2020-02-12T15:15:45.787Z',
        timestamp: 2463457000,
        rssi: -35,
        channel_rssi: -35,
        snr: 5,
        uplink_token: 'ChIKEAoEZ3R3MRIInFyOAAAaBcQQ6L3Vlgk=',
        channel_index: 2,
      },
    ],
    settings: {
      data_rate: { lora: { bandwidth: 125000, spreading_factor: 7 } },
      data_rate_index: 5,
      coding_rate: '4/6',
      frequency: '868300000',
      timestamp: 2463457000,
      time: '2020-02-12T15:15:45.787Z',
    },
    consumed_airtime: '0.056576s',
    locations: { user: { latitude: 37.97155556731436, longitude: 23.72678801175413, altitude: 10, source: 'SOURCE_REGISTRY' } },
    received_at: '2020-02-12T15:15:45.789585559Z',
  },
};

/** The `up` event example of ChirpStack v4's integration events documentation. */
const CHIRPSTACK_UPLINK = `{
  "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
  "time": "2022-07-18T09:34:15.775023242+00:00",
  "deviceInfo": {
    "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": "ChirpStack",
    "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97", "applicationName": "Test application",
    "deviceProfileId": "14855bf7-d10d-4aee-b618-ebfcb64dc7ad", "deviceProfileName": "Test device-profile",
    "deviceName": "Test device", "devEui": "0101010101010101", "tags": { "key": "value" }
  },
  "devAddr": "00189440", "dr": 1, "fPort": 1, "data": "qg==",
  "rxInfo": [{ "gatewayId": "0016c001f153a14c", "uplinkId": 4217106255, "rssi": -36, "snr": 10.5, "context": "E3OWOQ==",
    "metadata": { "region_name": "eu868", "region_common_name": "EU868" } }],
  "txInfo": { "frequency": 867100000, "modulation": { "lora": { "bandwidth": 125000, "spreadingFactor": 11, "codeRate": "CR_4_5" } } }
}`;

describe('ttn: The Things Stack v3 uplink from its documentation', () => {
  it('uses decoded_payload, the device id of the envelope and the receive time', () => {
    const out = new TelemetryDecoder({ format: 'ttn' }).decode({ payload: JSON.stringify(TTN_UPLINK), now: NOW });
    assert.deepStrictEqual(out.records, [
      { deviceId: 'dev1', timestamp: Date.parse('2020-02-12T15:15:46.014Z'), payload: { temperature: 1, luminosity: 0.64 } },
    ]);
    assert.deepStrictEqual(out.lorawan, { fPort: undefined, fCnt: 1 });
  });

  it('decodes frm_payload with an inner format instead (the LPP formatter example)', () => {
    const uplink = { ...TTN_UPLINK, uplink_message: { ...TTN_UPLINK.uplink_message, f_port: 8, frm_payload: 'A2cBEAVnAP8=', decoded_payload: undefined } };
    const out = new TelemetryDecoder({ format: 'ttn', innerFormat: 'lpp' }).decode({ payload: uplink, now: NOW });
    assert.deepStrictEqual(out.records[0].payload, { temperature_3: 27.2, temperature_5: 25.5 });
    assert.strictEqual(out.records[0].deviceId, 'dev1');
  });

  it('an uplink without decoded_payload needs an inner format, and says so', () => {
    const uplink = { ...TTN_UPLINK, uplink_message: { ...TTN_UPLINK.uplink_message, decoded_payload: undefined } };
    assert.throws(() => new TelemetryDecoder({ format: 'ttn' }).decode({ payload: uplink, now: NOW }), /no uplink_message.decoded_payload/);
  });
});

describe('chirpstack: ChirpStack v4 uplink event from its documentation', () => {
  it('decodes data with a binary spec; the device is the devEui and the time is the event time', () => {
    const decoder = new TelemetryDecoder({ format: 'chirpstack', innerFormat: 'binary', binarySpec: [{ name: 'level', type: 'uint8', byteOffset: 0 }] });
    const out = decoder.decode({ payload: CHIRPSTACK_UPLINK, now: NOW });
    assert.deepStrictEqual(out.records, [
      { deviceId: '0101010101010101', timestamp: Date.parse('2022-07-18T09:34:15.775Z'), payload: { level: 0xaa }, units: undefined },
    ]);
    assert.deepStrictEqual(out.lorawan, { fPort: 1, fCnt: undefined });
  });

  it('uses the codec output in `object` when present, flattening nested objects', () => {
    const event = { ...JSON.parse(CHIRPSTACK_UPLINK), object: { temperature: 21.5, accel: { x: 1, y: 2 } } };
    const out = new TelemetryDecoder({ format: 'chirpstack' }).decode({ payload: event, now: NOW });
    assert.deepStrictEqual(out.records[0].payload, { temperature: 21.5, accel_x: 1, accel_y: 2 });
  });

  it('rejects a payload that is not an uplink event', () => {
    assert.throws(() => new TelemetryDecoder({ format: 'chirpstack' }).decode({ payload: { foo: 1 }, now: NOW }), /not a ChirpStack uplink event/);
  });
});

describe('device id auto: the format, msg.deviceId, then the topic pattern', () => {
  it('reads the id from a topic matching the pattern (default devices/{deviceId}/telemetry, + and # allowed)', () => {
    const byDefault = new TelemetryDecoder({ format: 'json' });
    assert.strictEqual(byDefault.decode({ payload: '{"t":1}', topic: 'devices/d-7/telemetry', now: NOW }).records[0].deviceId, 'd-7');
    const wildcard = new TelemetryDecoder({ format: 'json', topicPattern: 'site/+/dev-{deviceId}/#' });
    assert.strictEqual(wildcard.decode({ payload: '{"t":1}', topic: 'site/a/dev-42/up/json', now: NOW }).records[0].deviceId, '42');
    assert.throws(() => wildcard.decode({ payload: '{"t":1}', now: NOW }), {
      code: 'INVALID_DEVICE_ID',
      message: /msg.deviceId is missing and msg.topic is missing \(pattern site\/\+\/dev-\{deviceId\}\/#\)/,
    });
  });

  it('refuses a pattern without {deviceId} at deploy', () => {
    assert.throws(() => new TelemetryDecoder({ format: 'json', deviceIdFrom: 'auto', topicPattern: 'devices/+/telemetry' }), { code: 'INVALID_CONFIG' });
  });
});

describe('json: fields, mapping and timestamp path', () => {
  it('takes numeric, string and boolean fields; nested objects flattened; arrays and nulls skipped', () => {
    const decoder = new TelemetryDecoder({ format: 'json', deviceIdFrom: 'msg' });
    const out = decoder.decode({ payload: '{"t":21.5,"ok":true,"mode":"auto","gps":{"lat":1.5},"list":[1],"none":null}', deviceId: 'd1', now: NOW });
    assert.deepStrictEqual(out.records, [{ deviceId: 'd1', timestamp: NOW, payload: { t: 21.5, ok: true, mode: 'auto', gps_lat: 1.5 } }]);
  });

  it('maps metric names to paths, reads the timestamp and the device id from the payload', () => {
    const decoder = new TelemetryDecoder({
      format: 'json',
      mapping: [
        { metric: 'temperature', path: 'sensors[0].value' },
        { metric: 'battery', path: 'power.battery' },
        { metric: 'absent', path: 'nope.nothing' },
      ],
      timestampPath: 'meta.ts',
      deviceIdFrom: 'path',
      deviceIdPath: 'meta.id',
    });
    const payload = { sensors: [{ value: 21.5 }], power: { battery: 3.6 }, meta: { ts: '2024-01-02T03:04:05.678Z', id: 'boiler-2' } };
    assert.deepStrictEqual(decoder.decode({ payload, now: NOW }).records, [
      { deviceId: 'boiler-2', timestamp: Date.parse('2024-01-02T03:04:05.678Z'), payload: { temperature: 21.5, battery: 3.6 } },
    ]);
  });

  it('takes the device id from a topic pattern', () => {
    const decoder = new TelemetryDecoder({ format: 'json', deviceIdFrom: 'topic', topicPattern: 'devices/{deviceId}/telemetry' });
    assert.strictEqual(decoder.decode({ payload: { t: 1 }, topic: 'devices/pump-1/telemetry', now: NOW }).records[0].deviceId, 'pump-1');
    assert.throws(() => decoder.decode({ payload: { t: 1 }, topic: 'other/pump-1/telemetry', now: NOW }), { code: 'INVALID_DEVICE_ID' });
    assert.throws(() => decoder.decode({ payload: { t: 1 }, topic: 'devices/a b/telemetry', now: NOW }), { code: 'INVALID_DEVICE_ID' });
  });

  it('a timestamp in seconds is read as seconds, an unreadable one is an error naming the path', () => {
    const decoder = new TelemetryDecoder({ format: 'json', deviceIdFrom: 'fixed', fixedDeviceId: 'x', timestampPath: 'ts' });
    assert.strictEqual(decoder.decode({ payload: { ts: 1700000000, v: 1 }, now: NOW }).records[0].timestamp, 1700000000000);
    assert.throws(
      () => decoder.decode({ payload: { ts: 'yesterday', v: 1 }, now: NOW }),
      (err: unknown) => err instanceof M2MError && err.field === 'ts',
    );
  });

  it('hostile keys are refused, and the prototype stays clean', () => {
    const decoder = new TelemetryDecoder({ format: 'json', deviceIdFrom: 'fixed', fixedDeviceId: 'x' });
    assert.throws(() => decoder.decode({ payload: '{"__proto__":{"polluted":1}}', now: NOW }), { code: 'HOSTILE_KEY' });
    assert.throws(() => decoder.decode({ payload: '{"a":{"constructor":{"prototype":{"polluted":1}}}}', now: NOW }), { code: 'HOSTILE_KEY' });
    assert.strictEqual(({} as Record<string, unknown>).polluted, undefined);
  });

  it('the size cap stops an oversized payload before it is parsed', () => {
    const decoder = new TelemetryDecoder({ format: 'json', deviceIdFrom: 'fixed', fixedDeviceId: 'x', limits: { maxBytes: 100 } });
    assert.throws(() => decoder.decode({ payload: JSON.stringify({ a: 'x'.repeat(200) }), now: NOW }), { code: 'PAYLOAD_TOO_LARGE' });
  });
});

describe('kv: key=value lines and CSV', () => {
  const decoder = new TelemetryDecoder({ format: 'kv', deviceIdFrom: 'fixed', fixedDeviceId: 'k1', timestampPath: 'ts' });

  it('t=21.5,h=40 is one record with numbers, booleans and text', () => {
    assert.deepStrictEqual(decoder.decode({ payload: 't=21.5,h=40,door=true,mode=eco', now: NOW }).records[0].payload, {
      t: 21.5,
      h: 40,
      door: true,
      mode: 'eco',
    });
  });

  it('each line is a record; lines at different times are separate messages', () => {
    const out = decoder.decode({ payload: 'ts=1700000000000,t=20\nts=1700000060000,t=21\n', now: NOW }).records;
    assert.deepStrictEqual(
      out.map((r) => [r.timestamp, r.payload.t]),
      [
        [1700000000000, 20],
        [1700000060000, 21],
      ],
    );
  });

  it('CSV with a header row: one record per row, empty cells skipped, quoted text kept', () => {
    const out = decoder.decode({ payload: 'ts,temp,label\n1700000000000,20.5,"a, b"\n1700000060000,,x\n', now: NOW }).records;
    assert.deepStrictEqual(
      out.map((r) => r.payload),
      [{ temp: 20.5, label: 'a, b' }, { label: 'x' }],
    );
  });

  it('CSV: a quoted field may hold line breaks, the delimiter and "" for a quote', () => {
    const payload = 'ts,temp,note\r\n1700000000000,20.5,"line one\nline two, with ""quotes"""\n1700000060000,21,"a\r\nb"\n';
    const out = decoder.decode({ payload, now: NOW }).records;
    assert.deepStrictEqual(
      out.map((r) => [r.timestamp, r.payload]),
      [
        [1700000000000, { temp: 20.5, note: 'line one\nline two, with "quotes"' }],
        [1700000060000, { temp: 21, note: 'a\r\nb' }],
      ],
    );
    assert.deepStrictEqual(decoder.decode({ payload: 'temp;"said"\n1;"he said ""hi"""', now: NOW }).records[0].payload, { temp: 1, said: 'he said "hi"' });
  });

  it('CSV: an unclosed quote or text after a closing quote is a clear error', () => {
    assert.throws(() => decoder.decode({ payload: 'temp,note\n1,"open\n2,x', now: NOW }), {
      code: 'INVALID_PAYLOAD',
      message: /CSV row 1 has a quoted field that is never closed/,
    });
    assert.throws(() => decoder.decode({ payload: 'temp,note\n1,"a"b', now: NOW }), {
      code: 'INVALID_PAYLOAD',
      message: /CSV row 1 has text after the closing quote/,
    });
  });

  it('kv and CSV obey the metric cap: 25,000 metrics in one record are refused', () => {
    const many = Array.from({ length: 25_000 }, (_, i) => `m${i}`);
    assert.throws(() => decoder.decode({ payload: many.map((m) => `${m}=1`).join(','), now: NOW }), {
      code: 'TOO_MANY_RECORDS',
      message: /line 1 has more than 10000 metrics \(metric cap\)/,
    });
    assert.throws(() => decoder.decode({ payload: `${many.join(',')}\n${many.map(() => '1').join(',')}`, now: NOW }), {
      code: 'TOO_MANY_RECORDS',
      message: /the CSV header has more than 10000 metrics/,
    });
    const capped = new TelemetryDecoder({ format: 'kv', deviceIdFrom: 'fixed', fixedDeviceId: 'k1', timestampPath: 'ts', limits: { maxMetrics: 2 } });
    assert.deepStrictEqual(capped.decode({ payload: 'ts=1700000000000,a=1,b=2', now: NOW }).records[0].payload, { a: 1, b: 2 }, 'the time key is not a metric');
    assert.throws(() => capped.decode({ payload: 'a=1,b=2,c=3', now: NOW }), { code: 'TOO_MANY_RECORDS', message: /more than 2 metrics/ });
    assert.throws(() => capped.decode({ payload: 'a,b,c\n1,2,3', now: NOW }), { code: 'TOO_MANY_RECORDS', message: /more than 2 metrics/ });
  });

  it('the metric cap applies to every format, e.g. SenML records grouped into one', () => {
    const capped = new TelemetryDecoder({ format: 'senml', limits: { maxMetrics: 2 } });
    const pack = JSON.stringify([
      { bn: 'd1:', n: 'a', v: 1 },
      { n: 'b', v: 2 },
      { n: 'c', v: 3 },
    ]);
    assert.throws(() => capped.decode({ payload: pack, now: NOW }), { code: 'TOO_MANY_RECORDS', message: /the record of d1 has more than 2 metrics/ });
    const json = new TelemetryDecoder({ format: 'json', deviceIdFrom: 'fixed', fixedDeviceId: 'x', limits: { maxMetrics: 2 } });
    assert.throws(() => json.decode({ payload: '{"a":1,"b":{"c":2,"d":3}}', now: NOW }), { code: 'TOO_MANY_RECORDS', message: /more than 2 metrics/ });
  });

  it('reads the device id from a column and refuses malformed rows', () => {
    const byColumn = new TelemetryDecoder({ format: 'kv', deviceIdFrom: 'path', deviceIdPath: 'id' });
    assert.deepStrictEqual(
      byColumn.decode({ payload: 'id,t\na1,1\nb2,2', now: NOW }).records.map((r) => [r.deviceId, r.payload]),
      [
        ['a1', { t: 1 }],
        ['b2', { t: 2 }],
      ],
    );
    assert.throws(() => byColumn.decode({ payload: 'id,t\na1', now: NOW }), /row 1 has 1 columns; the header has 2/);
    assert.throws(() => decoder.decode({ payload: 't=1,garbage', now: NOW }), /"garbage" is not key=value/);
  });
});
