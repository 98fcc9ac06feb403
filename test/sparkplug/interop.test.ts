import assert from 'assert';
import type { MqttClient } from 'mqtt';
import { newClient, type UPayload } from 'sparkplug-client';
import type { StatusEvent } from '../../lib/command/types';
import { HostConnection, SparkplugCommands, SparkplugHost, parseState, type HostEvent, type HostState } from '../../lib/sparkplug';
import { startBroker, type TestBroker } from '../helpers/services';

// Interoperability with Eclipse Tahu's JavaScript edge client (sparkplug-client) over the real Mosquitto (required
// when CI=true): the host core on its own MQTT session, the edge client as the reference peer.

type EdgeClient = ReturnType<typeof newClient>;
/** The edge client's own fields the test steers: its seq (to make a gap) and its MQTT connection (to kill it, and to watch STATE). */
interface EdgeInternals {
  seq: number;
  client: MqttClient;
}

const RUN = Math.random().toString(36).slice(2, 8);
const GROUP = `interop-${RUN}`;
const EDGE = 'E1';
const DEVICE = 'D1';
const HOST_ID = `m2m-it-${RUN}`;

// Every datatype, as Tahu's encoder takes it, with the value the host must read.
const DATATYPES: { name: string; type: string; value: unknown; expected: unknown }[] = [
  { name: 'i8', type: 'Int8', value: -5, expected: -5 },
  { name: 'i16', type: 'Int16', value: -300, expected: -300 },
  { name: 'i32', type: 'Int32', value: -70000, expected: -70000 },
  { name: 'i64', type: 'Int64', value: -1099511627776, expected: -1099511627776 },
  { name: 'u8', type: 'UInt8', value: 200, expected: 200 },
  { name: 'u16', type: 'UInt16', value: 60000, expected: 60000 },
  { name: 'u32', type: 'UInt32', value: 4000000000, expected: 4000000000 },
  { name: 'u64', type: 'UInt64', value: 9007199254740991, expected: 9007199254740991 },
  { name: 'f', type: 'Float', value: 1.5, expected: 1.5 },
  { name: 'd', type: 'Double', value: Math.PI, expected: Math.PI },
  { name: 'b', type: 'Boolean', value: false, expected: false },
  { name: 's', type: 'String', value: 'héllo', expected: 'héllo' },
  { name: 'dt', type: 'DateTime', value: 1700000000123, expected: 1700000000123 },
  { name: 'txt', type: 'Text', value: 'a text', expected: 'a text' },
  { name: 'uuid', type: 'UUID', value: '123e4567-e89b-12d3-a456-426614174000', expected: '123e4567-e89b-12d3-a456-426614174000' },
  {
    name: 'ds',
    type: 'DataSet',
    value: {
      numOfColumns: 2,
      columns: ['n', 's'],
      types: ['Int32', 'String'],
      rows: [
        [1, 'x'],
        [-2, 'y'],
      ],
    },
    expected: {
      columns: ['n', 's'],
      types: [3, 12],
      rows: [
        [1, 'x'],
        [-2, 'y'],
      ],
    },
  },
  { name: 'bytes', type: 'Bytes', value: Buffer.from([1, 2, 255]), expected: Buffer.from([1, 2, 255]) },
  { name: 'file', type: 'File', value: Buffer.from('file body'), expected: Buffer.from('file body') },
];
const TEMPLATE = {
  name: 'motor',
  type: 'Template',
  value: {
    templateRef: 'Motor',
    isDefinition: false,
    metrics: [
      { name: 'rpm', type: 'Int32', value: 1500 },
      { name: 'mode', type: 'String', value: 'auto' },
    ],
    parameters: [],
  },
};

function birthMetrics(extra: UPayload['metrics'] = []): NonNullable<UPayload['metrics']> {
  const metrics = DATATYPES.map((m, i) => ({ name: m.name, alias: i + 1, type: m.type, value: m.value }));
  return [...metrics, { ...TEMPLATE, alias: 100 }, ...(extra ?? [])] as NonNullable<UPayload['metrics']>;
}

/** Host events as they come, with waits on the one a test expects (never a sleep). */
class Events {
  readonly all: HostEvent[] = [];
  private waiters: { test: (e: HostEvent) => boolean; resolve: (e: HostEvent) => void }[] = [];

  push(events: HostEvent[]): void {
    for (const event of events) {
      this.all.push(event);
      this.waiters = this.waiters.filter((w) => !(w.test(event) && (w.resolve(event), true)));
    }
  }

  next(test: (e: HostEvent) => boolean, what: string, timeoutMs = 8000): Promise<HostEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no host event: ${what}`)), timeoutMs);
      this.waiters.push({ test, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }
}

function waitFor<T>(register: (resolve: (value: T) => void) => void, what: string, timeoutMs = 8000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe('Sparkplug host against Eclipse Tahu sparkplug-client (interoperability)', function () {
  this.timeout(30000);
  let broker: TestBroker;
  const host = new SparkplugHost({ rebirthIntervalMs: 60_000 });
  const events = new Events();
  let connection: HostConnection;
  let commands: SparkplugCommands;
  const statuses: StatusEvent[] = [];
  let edge: EdgeClient;
  const ncmds: UPayload[] = [];
  const dcmds: { device: string; payload: UPayload }[] = [];
  const statesSeenByEdge: { state: HostState | undefined; retain: boolean; qos?: number }[] = [];

  const births = (): void => {
    edge.publishNodeBirth({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: false }, ...birthMetrics()] });
    edge.publishDeviceBirth(DEVICE, { timestamp: Date.now(), metrics: birthMetrics([{ name: 'setpoint', alias: 200, type: 'Double', value: 20 }]) });
  };

  before(async () => {
    broker = await startBroker();
    let online!: () => void;
    const hostOnline = new Promise<void>((resolve) => (online = resolve));
    connection = new HostConnection({
      url: broker.url,
      hostId: HOST_ID,
      groups: [GROUP],
      onMessage: (topic, payload) => {
        const out = host.handle(topic, payload, Date.now());
        for (const e of out) if (e.kind === 'rebirth') connection.publishCommand(e.topic, e.payload);
        commands.observe(out);
        events.push(out);
      },
      onStatus: (status) => status === 'online' && online(),
    });
    commands = new SparkplugCommands({ host, publish: (topic, payload) => connection.publishCommand(topic, payload), onStatus: (e) => statuses.push(e) });
    await hostOnline;

    edge = newClient({ serverUrl: broker.url, groupId: GROUP, edgeNode: EDGE, clientId: `tahu-${RUN}`, username: '', password: '', keepalive: 30 });
    const internals = edge as unknown as EdgeInternals;
    edge.on('ncmd', (payload) => {
      ncmds.push(payload);
      if (payload.metrics?.some((m) => m.name === 'Node Control/Rebirth' && m.value === true)) births(); // the edge client answers a rebirth request
    });
    edge.on('dcmd', (device, payload) => {
      dcmds.push({ device, payload });
      const setpoint = payload.metrics?.find((m) => m.name === 'setpoint');
      // the edge applies the write and reports the new value, by alias as a DDATA does
      if (setpoint)
        edge.publishDeviceData(device, {
          timestamp: Date.now(),
          metrics: [{ alias: 200, type: 'Double', value: setpoint.value }] as NonNullable<UPayload['metrics']>,
        });
    });
    await waitFor<void>((resolve) => edge.on('birth', resolve), 'the edge client to connect');
    // STATE as the edge client sees it, on the client's own MQTT connection; its command handler only decodes protobuf, so STATE goes around it
    const tahuListeners = internals.client.listeners('message') as ((topic: string, payload: Buffer, packet: unknown) => void)[];
    internals.client.removeAllListeners('message');
    internals.client.on('message', (topic: string, payload: Buffer, packet: { retain?: boolean; qos?: number }) => {
      if (topic === `spBv1.0/STATE/${HOST_ID}`) statesSeenByEdge.push({ state: parseState(payload), retain: packet.retain === true, qos: packet.qos });
      else for (const listener of tahuListeners) listener.call(internals.client, topic, payload, packet);
    });
    await new Promise<void>((resolve, reject) => internals.client.subscribe(`spBv1.0/STATE/${HOST_ID}`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  });

  after(async () => {
    try {
      edge?.stop();
    } catch {
      // already gone
    }
    await connection?.stop();
    await broker?.close();
  });

  it('our STATE reaches the edge client: retained, QoS 1 JSON { online: true, timestamp }', async () => {
    if (statesSeenByEdge.length === 0)
      await waitFor<void>(
        (resolve) =>
          setImmediate(function poll() {
            if (statesSeenByEdge.length > 0) resolve();
            else setTimeout(poll, 10);
          }),
        'STATE at the edge',
      );
    const first = statesSeenByEdge[0];
    assert.strictEqual(first.retain, true);
    assert.strictEqual(first.qos, 1);
    assert.strictEqual(first.state?.online, true);
    assert.ok(Math.abs((first.state?.timestamp ?? 0) - Date.now()) < 60_000);
  });

  it('NBIRTH and DBIRTH with every datatype are read right, the template flattened', async () => {
    const nodeBirth = events.next((e) => e.kind === 'birth' && e.device === undefined, 'NBIRTH');
    const deviceBirth = events.next((e) => e.kind === 'birth' && e.device === DEVICE, 'DBIRTH');
    births();
    for (const birth of [await nodeBirth, await deviceBirth]) {
      assert.strictEqual(birth.kind, 'birth');
      if (birth.kind !== 'birth') return;
      const values = Object.fromEntries(birth.metrics.map((m) => [m.name, m.value]));
      for (const m of DATATYPES) assert.deepStrictEqual(values[m.name], m.expected, `${birth.id} ${m.type}`);
      assert.strictEqual(values['motor/rpm'], 1500);
      assert.strictEqual(values['motor/mode'], 'auto');
    }
    assert.strictEqual((await nodeBirth).kind === 'birth' && ((await nodeBirth) as Extract<HostEvent, { kind: 'birth' }>).bdSeq, 0);
    assert.deepStrictEqual(
      events.all.filter((e) => e.kind === 'problem' || e.kind === 'rebirth'),
      [],
    );
  });

  it('data carrying aliases only (no names) is resolved by the birth', async () => {
    const data = events.next((e) => e.kind === 'data' && e.device === DEVICE, 'DDATA');
    const metrics = DATATYPES.map((m, i) => ({ alias: i + 1, type: m.type, value: m.value }));
    edge.publishDeviceData(DEVICE, { timestamp: Date.now(), metrics: metrics as NonNullable<UPayload['metrics']> });
    const event = (await data) as Extract<HostEvent, { kind: 'data' }>;
    for (const m of DATATYPES) assert.deepStrictEqual(event.records[0].values[m.name], m.expected, m.type);
  });

  it('seq wraps 255 -> 0 with no rebirth request', async () => {
    const before = events.all.length;
    let count = 0;
    const last = events.next((e) => e.kind === 'data' && e.device === undefined && ++count === 300, 'the 300th NDATA', 15000);
    for (let i = 0; i < 300; i++)
      edge.publishNodeData({ timestamp: Date.now(), metrics: [{ alias: 5, type: 'UInt8', value: i % 256 }] as NonNullable<UPayload['metrics']> });
    await last;
    const seen = events.all.slice(before);
    const seqs = seen.filter((e) => e.kind === 'data').map((e) => (e as Extract<HostEvent, { kind: 'data' }>).seq);
    assert.ok(seqs.includes(255) && seqs.includes(0), 'the run crossed 255 -> 0');
    assert.deepStrictEqual(
      seen.filter((e) => e.kind !== 'data'),
      [],
    );
  });

  it('a deliberate seq gap gives exactly one rebirth request, which the edge client answers with new births', async () => {
    const rebirthsBefore = events.all.filter((e) => e.kind === 'rebirth').length;
    const reborn = events.next((e) => e.kind === 'birth' && e.device === DEVICE, 'the births answering the rebirth');
    const internals = edge as unknown as EdgeInternals;
    internals.seq = (internals.seq + 10) % 256; // the edge skips ten messages
    for (let i = 0; i < 3; i++)
      edge.publishNodeData({ timestamp: Date.now(), metrics: [{ alias: 5, type: 'UInt8', value: i }] as NonNullable<UPayload['metrics']> });
    await reborn;
    // data after the rebirth flows in order again
    const after = events.next((e) => e.kind === 'data' && e.device === DEVICE, 'DDATA after the rebirth');
    edge.publishDeviceData(DEVICE, { timestamp: Date.now(), metrics: [{ alias: 3, type: 'Int32', value: 7 }] as NonNullable<UPayload['metrics']> });
    await after;
    const rebirths = events.all.filter((e) => e.kind === 'rebirth').slice(rebirthsBefore);
    assert.strictEqual(rebirths.length, 1);
    assert.match((rebirths[0] as Extract<HostEvent, { kind: 'rebirth' }>).reason, /seq gap/);
    assert.strictEqual(
      ncmds.filter((p) => p.metrics?.some((m) => m.name === 'Node Control/Rebirth' && m.value === true)).length,
      1,
      'the edge client received one rebirth NCMD',
    );
  });

  it('a DCMD write reaches the edge client, which decodes the value written; the echo in DDATA makes it succeed', async () => {
    const done = new Promise<StatusEvent>((resolve) => {
      const poll = (): void => {
        const final = statuses.find((s) => s.id === 'w1' && s.status !== 'sent');
        if (final) resolve(final);
        else setTimeout(poll, 5);
      };
      poll();
    });
    const sent = commands.write({ id: 'w1', deviceId: `${GROUP}:${EDGE}:${DEVICE}`, command: 'write', params: { setpoint: 42.5 }, timeoutMs: 5000 });
    assert.strictEqual(sent.status, 'sent');
    const final = await done;
    assert.strictEqual(final.status, 'succeeded');
    assert.deepStrictEqual(final.response, { setpoint: 42.5 });
    assert.strictEqual(dcmds.length, 1);
    assert.strictEqual(dcmds[0].device, DEVICE);
    const metric = dcmds[0].payload.metrics?.[0];
    assert.deepStrictEqual([metric?.name, metric?.type, metric?.value], ['setpoint', 'Double', 42.5]);
  });

  it('a new NBIRTH from the edge client ends its previous session: a device without a new DBIRTH dies and stays offline', async () => {
    const secondBorn = events.next((e) => e.kind === 'birth' && e.device === 'D2', 'DBIRTH of D2');
    edge.publishDeviceBirth('D2', { timestamp: Date.now(), metrics: [{ name: 'level', alias: 1, type: 'Int32', value: 3 }] });
    await secondBorn;
    const d2Death = events.next((e) => e.kind === 'death' && e.device === 'D2', 'D2 dead at the new NBIRTH');
    const d1Reborn = events.next((e) => e.kind === 'birth' && e.device === DEVICE, 'D1 born in the new session');
    births(); // Tahu's NBIRTH (seq 0) and a DBIRTH for D1 alone
    const death = (await d2Death) as Extract<HostEvent, { kind: 'death' }>;
    assert.deepStrictEqual(death.stale, ['level']);
    assert.match(death.reason ?? '', /new NBIRTH/);
    await d1Reborn;
    assert.ok(host.findById(`${GROUP}:${EDGE}:${DEVICE}`), 'D1 online again');
    assert.strictEqual(host.findById(`${GROUP}:${EDGE}:D2`), undefined, 'D2 offline until its DBIRTH');
  });

  it('killing the edge client connection: its will (NDEATH, bdSeq 0) marks the node and its device dead', async () => {
    const deviceDeath = events.next((e) => e.kind === 'death' && e.device === DEVICE, 'DEVICE death');
    const nodeDeath = events.next((e) => e.kind === 'death' && e.device === undefined, 'NDEATH');
    const internals = edge as unknown as EdgeInternals;
    internals.client.options.reconnectPeriod = 0;
    internals.client.stream.destroy(); // no DISCONNECT: the broker publishes the will
    const death = (await nodeDeath) as Extract<HostEvent, { kind: 'death' }>;
    assert.strictEqual(death.bdSeq, 0);
    assert.ok(death.stale.includes('u32'));
    assert.ok(((await deviceDeath) as Extract<HostEvent, { kind: 'death' }>).stale.includes('setpoint'));
    assert.deepStrictEqual(host.stats(), { edgeNodes: 1, online: 0, devices: 0, aliases: 0 });
  });

  it('our own connection killed: the broker publishes our will, STATE online: false with the birth timestamp, and we come back', async () => {
    const watcher = await import('mqtt').then((m) => m.connectAsync(broker.url, { clientId: `watch-${RUN}` }));
    try {
      const seen: HostState[] = [];
      watcher.on('message', (_t, p) => {
        const s = parseState(p);
        if (s) seen.push(s);
      });
      await watcher.subscribeAsync(`spBv1.0/STATE/${HOST_ID}`, { qos: 1 });
      await waitFor<void>(
        (resolve) =>
          (function poll() {
            if (seen.length > 0) resolve();
            else setTimeout(poll, 5);
          })(),
        'retained STATE',
      );
      const birth = seen[0];
      assert.strictEqual(birth.online, true);
      (connection as unknown as { client: MqttClient }).client.stream.destroy();
      await waitFor<void>(
        (resolve) =>
          (function poll() {
            if (seen.length >= 3) resolve();
            else setTimeout(poll, 10);
          })(),
        'the will and the new birth',
        10000,
      );
      assert.deepStrictEqual(seen[1], { online: false, timestamp: birth.timestamp });
      assert.strictEqual(seen[2].online, true);
      assert.ok(seen[2].timestamp >= birth.timestamp);
    } finally {
      await watcher.endAsync();
    }
  });

  it('a clean stop publishes STATE online: false, retained', async () => {
    await connection.stop();
    const watcher = await import('mqtt').then((m) => m.connectAsync(broker.url, { clientId: `watch2-${RUN}` }));
    try {
      const state = await waitFor<HostState | undefined>((resolve) => {
        watcher.on('message', (_t, p, packet) => packet.retain && resolve(parseState(p)));
        void watcher.subscribeAsync(`spBv1.0/STATE/${HOST_ID}`, { qos: 1 });
      }, 'the retained STATE');
      assert.strictEqual(state?.online, false);
      // and clean the retained message away, so the broker keeps nothing of this run
      await watcher.publishAsync(`spBv1.0/STATE/${HOST_ID}`, '', { retain: true, qos: 1 });
    } finally {
      await watcher.endAsync();
    }
  });
});
