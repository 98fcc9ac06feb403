import assert from 'assert';
import sinon from 'sinon';
import { SparkplugCommands, SparkplugHost, type HostEvent } from '../../lib/sparkplug';
import { SparkplugEdgeSimulator, type SparkplugEdgeMessage } from '../../lib/simulator/sparkplug-edge';
import { seededRandom } from '../../lib/simulator/random';

// The simulated edge node of the example, against the host core: births, data by alias, a death and a rebirth,
// and a setpoint written with a DCMD, applied and reported back.

describe('simulated Sparkplug edge node (m2m-simulator format sparkplug) with the host', () => {
  let clock: sinon.SinonFakeTimers;
  afterEach(() => clock.restore());

  it('births, data, a death, a rebirth and a DCMD setpoint, all understood by the host', async () => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000 });
    const host = new SparkplugHost();
    const events: HostEvent[] = [];
    const peer: { edge?: SparkplugEdgeSimulator } = {};
    const statuses: string[] = [];
    // the broker in between: the command arrives after the write has returned
    const commands = new SparkplugCommands({
      host,
      publish: (topic, payload) => void Promise.resolve().then(() => peer.edge?.command(topic, payload)),
      onStatus: (e) => statuses.push(e.status),
    });
    const deliver = (m: SparkplugEdgeMessage): void => {
      const out = host.handle(m.topic, m.payload, Date.now());
      commands.observe(out);
      events.push(...out);
      for (const e of out) if (e.kind === 'rebirth') peer.edge?.command(e.topic, e.payload);
    };
    const edge = new SparkplugEdgeSimulator({
      group: 'Plant1',
      node: 'Line1',
      devices: ['press-001', 'press-002'],
      metrics: [
        { name: 'temperature', min: 18, max: 26 },
        { name: 'pressure', min: 1, max: 2 },
      ],
      intervalMs: 1000,
      random: seededRandom(7),
      publish: deliver,
    });
    peer.edge = edge;
    edge.start();
    assert.deepStrictEqual(
      events.map((e) => `${e.kind}:${e.id}`),
      ['birth:Plant1:Line1', 'birth:Plant1:Line1:press-001', 'birth:Plant1:Line1:press-002'],
    );
    clock.tick(3000);
    const data = events.filter((e) => e.kind === 'data') as Extract<HostEvent, { kind: 'data' }>[];
    assert.strictEqual(data.length, 6);
    assert.deepStrictEqual(Object.keys(data[0].records[0].values), ['temperature', 'pressure']);

    commands.write({ id: 'w', deviceId: 'Plant1:Line1:press-002', command: 'write', params: { setpoint: 42.5 }, timeoutMs: 1000 });
    assert.deepStrictEqual(statuses, []);
    await Promise.resolve();
    assert.deepStrictEqual(statuses, ['succeeded']);

    events.length = 0;
    edge.setOnline('press-001', false);
    edge.setOnline(undefined, false);
    assert.deepStrictEqual(
      events.map((e) => `${e.kind}:${e.id}`),
      ['death:Plant1:Line1:press-001', 'death:Plant1:Line1:press-002', 'death:Plant1:Line1'],
    );
    events.length = 0;
    edge.setOnline(undefined, true);
    edge.setOnline('press-001', true);
    assert.deepStrictEqual(
      events.map((e) => `${e.kind}:${e.id}`),
      ['birth:Plant1:Line1', 'birth:Plant1:Line1:press-002', 'birth:Plant1:Line1:press-001'],
    );
    assert.strictEqual((events[0] as Extract<HostEvent, { kind: 'birth' }>).bdSeq, 1, 'a new session, a new bdSeq');
    const reborn = (events[1] as Extract<HostEvent, { kind: 'birth' }>).metrics.find((m) => m.name === 'setpoint');
    assert.strictEqual(reborn?.value, 42.5, 'the written setpoint kept');
    edge.close();
  });
});
