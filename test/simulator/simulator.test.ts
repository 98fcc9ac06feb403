import assert from 'assert';
import sinon from 'sinon';
import {
  DeviceSimulator,
  binaryFrameSpec,
  encodeKv,
  encodeLpp,
  encodeSenml,
  type MetricSpec,
  type SimulatorMessage,
  type SimulatorOptions,
} from '../../lib/simulator';

const METRICS: MetricSpec[] = [
  { name: 'temperature', min: 18, max: 26, noise: 0.3, drift: 0.2, spikeChance: 0.05, unit: 'Cel', lppType: 'temperature' },
  { name: 'humidity', min: 30, max: 60, noise: 1, drift: 0.5, unit: '%RH', lppType: 'relative_humidity' },
];

function simulator(options: Partial<SimulatorOptions> = {}): { sim: DeviceSimulator; out: SimulatorMessage[] } {
  const out: SimulatorMessage[] = [];
  const sim = new DeviceSimulator({ devices: 3, intervalMs: 0, metrics: METRICS, seed: 1, publish: (m) => out.push(m), ...options });
  return { sim, out };
}

const command = (deviceId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  topic: `devices/${deviceId}/commands/open`,
  payload: JSON.stringify({ id: 'c1', command: 'open', params: { percent: 5 }, ts: 1 }),
  ...extra,
});

describe('device simulator', () => {
  describe('telemetry', () => {
    it('names devices from the prefix and sends one message per online device per round', () => {
      const { sim, out } = simulator({ idPrefix: 'press-' });
      assert.deepStrictEqual(sim.ids, ['press-001', 'press-002', 'press-003']);
      sim.setOnline('press-002', false);
      sim.tick(1000);
      assert.deepStrictEqual(
        out.map((m) => m.topic),
        ['devices/press-001/telemetry', 'devices/press-003/telemetry'],
      );
      assert.deepStrictEqual(Object.keys(out[0].payload as object), ['temperature', 'humidity', 'ts']);
      assert.deepStrictEqual(sim.counts(), { devices: 3, online: 2, telemetry: 2, replies: 0, failures: 0, ignored: 0 });
    });

    it('the same seed gives the same readings; another seed does not', () => {
      const readings = (seed: number): unknown[] => {
        const { sim, out } = simulator({ seed });
        for (let i = 0; i < 5; i++) sim.tick(i);
        return out.map((m) => m.payload);
      };
      assert.deepStrictEqual(readings(42), readings(42));
      assert.notDeepStrictEqual(readings(42), readings(43));
    });

    it('stays within the range apart from spikes, which come at about the spike chance and leave the range', () => {
      const { sim, out } = simulator({ devices: 100 });
      for (let i = 0; i < 100; i++) sim.tick(i);
      const temps = out.map((m) => (m.payload as { temperature: number }).temperature);
      const humid = out.map((m) => (m.payload as { humidity: number }).humidity);
      const spikes = temps.filter((t) => t < 18 || t > 26);
      assert.ok(spikes.length > 0.03 * temps.length && spikes.length < 0.07 * temps.length, `${spikes.length} spikes in ${temps.length}`);
      assert.ok(
        spikes.every((t) => t <= 14 || t >= 30),
        'a spike goes half the range beyond it',
      );
      assert.ok(
        humid.every((h) => h >= 30 && h <= 60),
        'no spikes configured: always in range',
      );
      assert.ok(new Set(temps).size > 100, 'values vary');
    });

    it('holds a spike for its spike length, then returns to the range', () => {
      const metrics: MetricSpec[] = [{ name: 'temperature', min: 18, max: 26, spikeChance: 0.05, spikeLength: 3 }];
      const { sim, out } = simulator({ devices: 1, metrics });
      for (let i = 0; i < 2000; i++) sim.tick(i);
      const temps = out.map((m) => (m.payload as { temperature: number }).temperature);
      const runs: number[] = [];
      let run = 0;
      for (const t of temps) {
        if (t < 18 || t > 26) run++;
        else if (run > 0) {
          runs.push(run);
          run = 0;
        }
      }
      assert.ok(runs.length > 10, `${runs.length} spikes`);
      // A spike lasts 3 readings; two spikes may follow each other back to back.
      assert.ok(
        runs.every((r) => r % 3 === 0),
        `spike runs: ${runs.join(',')}`,
      );
      assert.throws(() => simulator({ metrics: [{ name: 't', min: 0, max: 1, spikeLength: 0 }] }), /spikeLength must be a whole number 1\.\.1000/);
    });

    it('sends on its interval until closed', () => {
      const clock = sinon.useFakeTimers();
      try {
        const { sim, out } = simulator({ intervalMs: 1000 });
        sim.start();
        clock.tick(3000);
        assert.strictEqual(out.length, 9);
        sim.close();
        clock.tick(5000);
        assert.strictEqual(out.length, 9);
      } finally {
        clock.restore();
      }
    });
  });

  describe('formats', () => {
    const reading = { temperature: 21.5, humidity: 41 };

    it('senml: a pack with base name, base time in seconds, units', () => {
      assert.deepStrictEqual(encodeSenml('dev-1', reading, 1_700_000_000_500, METRICS), [
        { bn: 'dev-1:', bt: 1_700_000_000.5, n: 'temperature', v: 21.5, u: 'Cel' },
        { n: 'humidity', v: 41, u: '%RH' },
      ]);
    });

    it('lpp: channel, type, big-endian value at the type resolution; out-of-range values are clamped', () => {
      assert.deepStrictEqual([...encodeLpp(reading, METRICS)], [1, 103, 0x00, 0xd7, 2, 104, 82]);
      assert.deepStrictEqual([...encodeLpp({ temperature: -4000, humidity: 300 }, METRICS)], [1, 103, 0x80, 0x00, 2, 104, 255]);
      const analog = encodeLpp({ x: -1.5 }, [{ name: 'x', min: -5, max: 5 }]);
      assert.deepStrictEqual([...analog], [1, 2, 0xff, 0x6a], 'analog_in by default, 0.01 signed');
    });

    it('binary: float32 big-endian per metric, with the matching m2m-telemetry frame spec', () => {
      const { sim, out } = simulator({ format: 'binary' });
      sim.tick(0);
      const frame = out[0].payload as Buffer;
      assert.strictEqual(frame.length, 8);
      assert.deepStrictEqual(binaryFrameSpec(METRICS), [
        { name: 'temperature', type: 'float32', endian: 'big', byteOffset: 0, unit: 'Cel' },
        { name: 'humidity', type: 'float32', endian: 'big', byteOffset: 4, unit: '%RH' },
      ]);
      const { sim: jsonSim, out: jsonOut } = simulator({ format: 'json' });
      jsonSim.tick(0);
      const values = jsonOut[0].payload as { temperature: number; humidity: number };
      assert.ok(Math.abs(frame.readFloatBE(0) - values.temperature) < 1e-4, 'same seed, same reading in both formats');
      assert.ok(Math.abs(frame.readFloatBE(4) - values.humidity) < 1e-4);
    });

    it('kv: key=value pairs on one line', () => {
      assert.strictEqual(encodeKv(reading), 'temperature=21.5,humidity=41');
    });

    it('refuses a configuration it cannot simulate', () => {
      assert.throws(() => simulator({ devices: 0 }), /devices must be a whole number/);
      assert.throws(() => simulator({ format: 'xml' as 'json' }), /format must be one of/);
      assert.throws(() => simulator({ metrics: [{ name: 'a', min: 5, max: 1 }] }), /max must not be below min/);
      assert.throws(() => simulator({ metrics: [{ name: '__proto__', min: 0, max: 1 }] }), /name must be/);
      assert.throws(() => simulator({ failureRatio: 2 }), /failure ratio/);
      assert.throws(() => simulator({ idPrefix: 'a/' }), /idPrefix contains "\/"/);
    });
  });

  describe('commands', () => {
    it('MQTT 5: answers on the response topic with the same correlation data', () => {
      const { sim, out } = simulator();
      const correlationData = Buffer.from('c1');
      assert.strictEqual(sim.command(command('sim-002', { responseTopic: 'back/here', correlationData })), 'replied');
      assert.strictEqual(out[0].topic, 'back/here');
      assert.ok(out[0].correlationData?.equals(correlationData));
      assert.deepStrictEqual(out[0].payload, { status: 'ok', result: { device: 'sim-002', command: 'open', done: true }, id: 'c1' });
      assert.strictEqual(out[0].qos, 1);
    });

    it('MQTT 3.1.1: answers on the reply topic template with the id in the payload', () => {
      const { sim, out } = simulator({ replyTopic: 'site/{deviceId}/answers' });
      sim.command({ ...command('sim-001'), payload: { id: 'c9', command: 'open' } });
      assert.strictEqual(out[0].topic, 'site/sim-001/answers');
      assert.strictEqual(out[0].correlationData, undefined);
      assert.strictEqual((out[0].payload as { id: string }).id, 'c9');
    });

    it('answers after the latency, fails the configured share of commands, and stops answering when closed', () => {
      const clock = sinon.useFakeTimers();
      try {
        const { sim, out } = simulator({ latencyMs: 200, failureRatio: 0.25, seed: 3 });
        for (let i = 0; i < 400; i++) sim.command(command(`sim-00${(i % 3) + 1}`));
        clock.tick(199);
        assert.strictEqual(out.length, 0);
        clock.tick(1);
        assert.strictEqual(out.length, 400);
        const failed = out.filter((m) => (m.payload as { status: string }).status === 'error').length;
        assert.ok(failed > 70 && failed < 130, `${failed} of 400 failed`);
        sim.command(command('sim-001'));
        sim.close();
        clock.tick(1000);
        assert.strictEqual(out.length, 400, 'a reply pending at close is never sent');
      } finally {
        clock.restore();
      }
    });

    it('offline devices neither answer nor send; the offline command takes a device away for a while', () => {
      const clock = sinon.useFakeTimers();
      try {
        const { sim, out } = simulator();
        sim.command({ topic: 'devices/sim-001/commands/offline', payload: { id: 'o1', command: 'offline', params: { forMs: 5000 } } });
        assert.strictEqual(out.length, 1, 'answered first');
        assert.strictEqual(sim.command(command('sim-001')), 'offline');
        assert.strictEqual(sim.isOnline('sim-001'), false);
        clock.tick(5000);
        assert.strictEqual(sim.isOnline('sim-001'), true);
        assert.strictEqual(sim.command(command('sim-001')), 'replied');
        assert.strictEqual(sim.command(command('other-9')), 'not-simulated');
      } finally {
        clock.restore();
      }
    });

    it('a command that is not JSON or has no id is an error', () => {
      const { sim, out } = simulator();
      assert.throws(() => sim.command({ topic: 'devices/sim-001/commands/x', payload: 'reboot!' }), /is not JSON/);
      assert.throws(() => sim.command({ topic: 'devices/sim-001/commands/x', payload: { command: 'x' } }), /no id and no correlation data/);
      assert.strictEqual(out.length, 0);
    });
  });
});
