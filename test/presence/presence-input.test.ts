import assert from 'assert';
import { readPresence } from '../../lib/registry/presence';

describe('presence input mapping', () => {
  const cases: Array<[string, { topic?: string; payload: unknown }, { state: string; deviceId?: string; at?: number; source: string }]> = [
    ['an LWT payload "offline"', { topic: 'devices/th-1/status', payload: 'offline' }, { state: 'offline', source: 'payload' }],
    ['an LWT payload as a Buffer', { payload: Buffer.from('Offline\n') }, { state: 'offline', source: 'payload' }],
    ['a birth payload "online"', { payload: 'online' }, { state: 'online', source: 'payload' }],
    ['{ online: false } (m2m-telemetry Sparkplug death record)', { payload: { online: false } }, { state: 'offline', source: 'payload' }],
    ['{ status: "disconnected" } as JSON text', { payload: '{"status":"disconnected"}' }, { state: 'offline', source: 'payload' }],
    ['false', { payload: false }, { state: 'offline', source: 'payload' }],
    ['1', { payload: 1 }, { state: 'online', source: 'payload' }],
    [
      'EMQX $events/client_disconnected',
      { topic: '$events/client_disconnected', payload: { clientid: 'th-2', reason: 'keepalive_timeout', disconnected_at: 1_700_000_000_123 } },
      { state: 'offline', deviceId: 'th-2', at: 1_700_000_000_123, source: 'emqx' },
    ],
    [
      'EMQX client.connected event JSON on any topic',
      { topic: 'emqx/events', payload: JSON.stringify({ event: 'client.connected', clientid: 'th-3', connected_at: 1_700_000_000_000 }) },
      { state: 'online', deviceId: 'th-3', at: 1_700_000_000_000, source: 'emqx' },
    ],
    [
      'EMQX $SYS client topic',
      { topic: '$SYS/brokers/emqx@127.0.0.1/clients/th-4/disconnected', payload: '{"reason":"normal"}' },
      { state: 'offline', deviceId: 'th-4', source: 'emqx' },
    ],
    [
      'a Mosquitto connect log line',
      { topic: '$SYS/broker/log/N', payload: "1700000000: New client connected from 10.0.0.5:50612 as th-5 (p2, c1, k60, u'dev')." },
      { state: 'online', deviceId: 'th-5', source: 'mosquitto-log' },
    ],
    ['a Mosquitto disconnect log line', { payload: '1700000000: Client th-6 disconnected.' }, { state: 'offline', deviceId: 'th-6', source: 'mosquitto-log' }],
    [
      'a Mosquitto keepalive timeout line',
      { payload: 'Client th-7 has exceeded timeout, disconnecting.' },
      { state: 'offline', deviceId: 'th-7', source: 'mosquitto-log' },
    ],
    ['Sparkplug NDEATH', { topic: 'spBv1.0/plant/NDEATH/edge-1', payload: Buffer.from([8, 1]) }, { state: 'offline', deviceId: 'edge-1', source: 'sparkplug' }],
    [
      'Sparkplug DBIRTH',
      { topic: 'spBv1.0/plant/DBIRTH/edge-1/pump-2', payload: Buffer.from([8, 1]) },
      { state: 'online', deviceId: 'pump-2', source: 'sparkplug' },
    ],
  ];
  for (const [name, input, expected] of cases) {
    it(`reads ${name}`, () => {
      const mark = readPresence(input);
      // undefined fields are as good as absent
      assert.deepStrictEqual(JSON.parse(JSON.stringify(mark)), expected, name);
    });
  }

  it('refuses a message it cannot read, naming the payload', () => {
    for (const payload of ['maybe', { temperature: 3 }, null, 2, '{"status":"sleeping"}']) {
      assert.throws(() => readPresence({ topic: 'x/y', payload }), { code: 'INVALID_FIELD', message: /presence could not be read/ });
    }
  });
});
