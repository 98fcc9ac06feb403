import assert from 'assert';
import { SparkplugHost, type HostEvent } from '../../lib/sparkplug';
import { RegistrySync } from '../../lib/sparkplug/registry-sync';
import { DeviceRegistry } from '../../lib/registry';
import { MemoryStore } from '../../lib/registry/stores/memory';
import { encodeIndependently, type IndependentMetric } from './independent-encoder';

// Sparkplug 3.0 host rules: a new NBIRTH ends the edge node's previous session. Its devices are offline, their
// metrics stale, until each sends a DBIRTH in the new session; one that sends none stays offline.

const T = 1_700_000_000_000;

function send(host: SparkplugHost, topic: string, seq: number | undefined, metrics: IndependentMetric[], now = T): HostEvent[] {
  return host.handle(topic, encodeIndependently({ timestamp: now, seq, metrics }), now);
}
const nbirth = (host: SparkplugHost, bdSeq: number, now = T): HostEvent[] =>
  send(
    host,
    'spBv1.0/G/NBIRTH/E',
    0,
    [
      { name: 'bdSeq', datatype: 8, longValue: bdSeq },
      { name: 'temp', alias: 1, datatype: 10, doubleValue: 20 },
    ],
    now,
  );
const dbirth = (host: SparkplugHost, device: string, seq: number, now = T): HostEvent[] =>
  send(host, `spBv1.0/G/DBIRTH/E/${device}`, seq, [{ name: 'level', alias: 2, datatype: 3, intValue: 1 }], now);

async function settled(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('Sparkplug host: a new NBIRTH ends the previous session', () => {
  it('the devices of the old session die (metrics stale, with the reason) and only those born again come back', () => {
    const host = new SparkplugHost();
    nbirth(host, 1);
    dbirth(host, 'D1', 1);
    dbirth(host, 'D2', 2);
    const events = nbirth(host, 2, T + 1000);
    const deaths = events.filter((e): e is Extract<HostEvent, { kind: 'death' }> => e.kind === 'death');
    assert.deepStrictEqual(
      deaths.map((e) => [e.id, e.stale]),
      [
        ['G:E:D1', ['level']],
        ['G:E:D2', ['level']],
      ],
    );
    assert.match(deaths[0].reason ?? '', /new NBIRTH/);
    assert.deepStrictEqual(
      events.map((e) => e.kind),
      ['death', 'death', 'birth'],
      'the deaths come before the new birth',
    );
    assert.strictEqual(host.findById('G:E:D1'), undefined);
    assert.strictEqual(host.stats().devices, 0, 'the old session is released');
    dbirth(host, 'D2', 1, T + 1001);
    assert.ok(host.findById('G:E:D2'), 'D2, born again, is online');
    assert.strictEqual(host.findById('G:E:D1'), undefined, 'D1, without a DBIRTH, stays offline');
    const data = send(host, 'spBv1.0/G/DDATA/E/D1', 2, [{ alias: 2, datatype: 3, intValue: 5 }], T + 1002);
    assert.ok(
      data.some((e) => e.kind === 'rebirth'),
      'data from D1 before its DBIRTH asks for a rebirth',
    );
  });

  describe('in the registry', () => {
    let registry: DeviceRegistry;
    beforeEach(async () => {
      registry = new DeviceRegistry({ name: 'sparkplug-new-session', store: new MemoryStore(), types: [{ name: 'plc' }] });
      await registry.ready();
    });
    afterEach(() => registry.close());

    it('a device without a DBIRTH in the new session goes offline; one born again is online', async () => {
      const host = new SparkplugHost();
      const sync = new RegistrySync(registry, { types: { '*': 'plc' } }, (id, message) => assert.fail(`${id}: ${message}`));
      sync.apply(nbirth(host, 1));
      sync.apply(dbirth(host, 'D1', 1));
      sync.apply(dbirth(host, 'D2', 2));
      await settled();
      assert.ok(registry.isOnline('G:E:D1') && registry.isOnline('G:E:D2'));
      sync.apply(nbirth(host, 2, T + 1000));
      sync.apply(dbirth(host, 'D2', 1, T + 1001));
      await settled();
      assert.strictEqual(registry.isOnline('G:E:D1'), false, 'D1 sent no DBIRTH in the new session');
      assert.strictEqual(registry.isOnline('G:E:D2'), true);
      assert.strictEqual(registry.isOnline('G:E'), true);
    });

    it('after a host restart, devices left online from before go offline at the first NBIRTH until their DBIRTH', async () => {
      const before = new SparkplugHost();
      const first = new RegistrySync(registry, { types: { '*': 'plc' } }, (id, message) => assert.fail(`${id}: ${message}`));
      first.apply(nbirth(before, 1));
      first.apply(dbirth(before, 'D1', 1));
      first.apply(dbirth(before, 'D2', 2));
      await settled();
      // a new host (redeploy): it never saw the old session, nor its end
      const host = new SparkplugHost();
      const sync = new RegistrySync(registry, { types: { '*': 'plc' } }, (id, message) => assert.fail(`${id}: ${message}`));
      sync.apply(nbirth(host, 2, T + 1000));
      sync.apply(dbirth(host, 'D2', 1, T + 1001));
      await settled();
      assert.strictEqual(registry.isOnline('G:E:D1'), false);
      assert.strictEqual(registry.isOnline('G:E:D2'), true);
    });
  });
});
