import assert from 'assert';
import { DeviceSimulator, type SimulatorMessage } from '../../lib/simulator';

describe('m2m-simulator: a thermostat applies set-desired and reports back', () => {
  function simulator(published: SimulatorMessage[]): DeviceSimulator {
    return new DeviceSimulator({ devices: 2, idPrefix: 'th-', intervalMs: 0, publish: (m) => published.push(m), reportTopic: 'home/{deviceId}/reported' });
  }

  it('merges the params (null deletes), replies, then reports its whole applied state on the report topic', () => {
    const out: SimulatorMessage[] = [];
    const sim = simulator(out);
    sim.command({
      topic: 'devices/th-001/commands/set-desired',
      payload: { id: 'c1', command: 'set-desired', params: { setpoint: 21, mode: 'heat', schedule: { mon: 6 } } },
    });
    sim.command({
      topic: 'devices/th-001/commands/set-desired',
      payload: JSON.stringify({ id: 'c2', command: 'set-desired', params: { mode: null, schedule: { tue: 7 } } }),
    });
    assert.deepStrictEqual(
      out.map((m) => [m.kind, m.topic]),
      [
        ['reply', 'devices/th-001/replies'],
        ['report', 'home/th-001/reported'],
        ['reply', 'devices/th-001/replies'],
        ['report', 'home/th-001/reported'],
      ],
    );
    assert.deepStrictEqual(out[1].payload, { setpoint: 21, mode: 'heat', schedule: { mon: 6 } });
    assert.deepStrictEqual(out[3].payload, { setpoint: 21, schedule: { mon: 6, tue: 7 } });
    assert.deepStrictEqual(sim.twin.of('th-002'), {}, 'the other thermostat applied nothing');
  });

  it('an offline thermostat applies nothing and reports nothing; back online it does', () => {
    const out: SimulatorMessage[] = [];
    const sim = simulator(out);
    sim.setOnline('th-002', false);
    assert.strictEqual(
      sim.command({ topic: 'devices/th-002/commands/set-desired', payload: { id: 'c1', command: 'set-desired', params: { setpoint: 19 } } }),
      'offline',
    );
    assert.deepStrictEqual([out.length, sim.twin.of('th-002')], [0, {}]);
    sim.setOnline('th-002', true);
    sim.command({ topic: 'devices/th-002/commands/set-desired', payload: { id: 'c2', command: 'set-desired', params: { setpoint: 19 } } });
    assert.deepStrictEqual(out.find((m) => m.kind === 'report')?.payload, { setpoint: 19 });
  });

  it('a hostile key in the params is not applied', () => {
    const out: SimulatorMessage[] = [];
    simulator(out).command({
      topic: 'devices/th-001/commands/set-desired',
      payload: '{"id":"c","command":"set-desired","params":{"__proto__":{"x":1},"setpoint":20}}',
    });
    assert.deepStrictEqual(out[1].payload, { setpoint: 20 });
    assert.strictEqual(({} as Record<string, unknown>).x, undefined);
  });
});
