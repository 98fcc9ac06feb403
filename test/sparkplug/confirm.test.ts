import assert from 'assert';
import type { HostEvent } from '../../lib/sparkplug';
import { WriteConfirmations } from '../../lib/sparkplug/confirm';

// What m2m-command's tracker learns from host events about the Sparkplug writes it sent.

const ID = 'G:E:D1';
const data = (values: Record<string, number | string | boolean>, id = ID): HostEvent => ({
  group: 'G',
  node: 'E',
  device: 'D1',
  id,
  kind: 'data',
  timestamp: 1,
  records: [{ timestamp: 1, values }],
  historical: [],
  transient: [],
});

describe('Sparkplug write confirmations (m2m-command tracker)', () => {
  it('a write succeeds once every written value has come back, a Float as rounded to 32 bits', () => {
    const watch = new WriteConfirmations();
    watch.watch({ id: 'w1', deviceId: ID, command: 'write', params: { setpoint: 22.1, mode: 'auto' } });
    assert.deepStrictEqual(watch.observe([data({ setpoint: Math.fround(22.1) })]), [], 'mode has not come back yet');
    assert.deepStrictEqual(watch.observe([data({ mode: 'auto' }, 'G:E:D2')]), [], 'another device');
    assert.deepStrictEqual(watch.observe([data({ mode: 'auto' })]), [
      { id: 'w1', status: 'succeeded', response: { setpoint: Math.fround(22.1), mode: 'auto' }, error: null },
    ]);
    assert.strictEqual(watch.size, 0);
  });

  it('a single value written by the command name; a different value does not confirm; a death fails it', () => {
    const watch = new WriteConfirmations();
    watch.watch({ id: 'w2', deviceId: ID, command: 'level', params: 5 });
    assert.deepStrictEqual(watch.observe([data({ level: 4 })]), []);
    const death: HostEvent = { group: 'G', node: 'E', device: 'D1', id: ID, kind: 'death', timestamp: 2, stale: ['level'] };
    assert.deepStrictEqual(
      watch.observe([death]).map((o) => [o.id, o.status]),
      [['w2', 'failed']],
    );
    assert.strictEqual(watch.size, 0);
  });

  it('a forgotten write (ended by the tracker) is no longer confirmed', () => {
    const watch = new WriteConfirmations();
    watch.watch({ id: 'w3', deviceId: ID, command: 'write', params: { level: 1 } });
    watch.forget('w3', ID);
    assert.deepStrictEqual(watch.observe([data({ level: 1 })]), []);
  });
});
