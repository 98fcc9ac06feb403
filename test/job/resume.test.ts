import assert from 'assert';
import sinon from 'sinon';
import { CommandTracker, MemoryCommandStore, type StatusEvent, type TransportMessage } from '../../lib/command';

// m2m-command's side of a job's restart: a command asked for again with resume: true is answered by its own
// outcome (same id), never sent a second time.
describe('m2m-command: a resumed command id is answered by its kept outcome', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers(Date.UTC(2026, 0, 1));
  });
  afterEach(() => clock.restore());

  function tracker(store: MemoryCommandStore, keepOutcomesMs?: number): { t: CommandTracker; sent: TransportMessage[]; events: StatusEvent[] } {
    const sent: TransportMessage[] = [];
    const events: StatusEvent[] = [];
    const t = new CommandTracker({ mqtt5: false, store, keepOutcomesMs, onCommand: (m) => sent.push(m), onStatus: (e) => events.push(e) });
    return { t, sent, events };
  }

  const ok = (id: string, deviceId: string): { topic: string; payload: unknown } => ({
    topic: `devices/${deviceId}/replies`,
    payload: { id, ok: true, result: { v: 2 } },
  });

  it('after a restart, an ended command resumed gets its final status event again and is not sent', () => {
    const store = new MemoryCommandStore();
    const a = tracker(store);
    a.t.submit({ deviceId: 'd1', command: 'update', commandId: 'fw:0:1' });
    a.t.reply(ok('fw:0:1', 'd1'));
    a.t.close();
    const b = tracker(store);
    const result = b.t.submit({ deviceId: 'd1', command: 'update', commandId: 'fw:0:1', resume: true });
    assert.strictEqual(result.status, 'ended');
    assert.deepStrictEqual(b.sent, [], 'not sent again');
    assert.deepStrictEqual(
      b.events.map((e) => [e.id, e.status, e.response]),
      [['fw:0:1', 'succeeded', { v: 2 }]],
    );
    assert.strictEqual(b.t.reply(ok('fw:0:1', 'd1')), 'late', 'a reply after the restart counts as late');
  });

  it('a resumed command still in progress goes on as it is; one never seen is sent', () => {
    const store = new MemoryCommandStore();
    const a = tracker(store);
    a.t.submit({ deviceId: 'd1', command: 'update', commandId: 'fw:0:1' });
    assert.strictEqual(a.t.submit({ deviceId: 'd1', command: 'update', commandId: 'fw:0:1', resume: true }).status, 'sent');
    assert.strictEqual(a.sent.length, 1);
    assert.throws(() => a.t.submit({ deviceId: 'd1', command: 'update', commandId: 'fw:0:1' }), /already in progress/, 'without resume: refused as before');
    assert.strictEqual(a.t.submit({ deviceId: 'd2', command: 'update', commandId: 'fw:1:1', resume: true }).status, 'sent');
    assert.strictEqual(a.sent.length, 2);
  });

  it('without resume, or for another device, or once the kept time has passed, the id is a new command', () => {
    const store = new MemoryCommandStore();
    const a = tracker(store, 60_000);
    a.t.submit({ deviceId: 'd1', command: 'reboot', commandId: 'r' });
    a.t.reply(ok('r', 'd1'));
    a.t.submit({ deviceId: 'd1', command: 'reboot', commandId: 'r' });
    assert.strictEqual(a.sent.length, 2, 'an id used again without resume is sent as before');
    a.t.reply(ok('r', 'd1'));
    assert.strictEqual(a.t.submit({ deviceId: 'd2', command: 'reboot', commandId: 'r', resume: true }).status, 'sent');
    a.t.reply(ok('r', 'd2'));
    clock.tick(60_001);
    assert.strictEqual(a.t.submit({ deviceId: 'd2', command: 'reboot', commandId: 'r', resume: true }).status, 'sent', 'past the kept time');
    assert.strictEqual(a.sent.length, 4);
  });

  it('kept outcomes are bounded: the oldest leave the store beyond rememberEnded', async () => {
    const store = new MemoryCommandStore();
    const sent: TransportMessage[] = [];
    const t = new CommandTracker({ mqtt5: false, store, rememberEnded: 3, onCommand: (m) => sent.push(m), onStatus: () => undefined });
    for (let i = 0; i < 5; i++) {
      t.submit({ deviceId: 'd1', command: 'x', commandId: `c${i}` });
      t.reply(ok(`c${i}`, 'd1'));
    }
    await clock.tickAsync(0);
    assert.deepStrictEqual(store.keys().sort(), ['~c2', '~c3', '~c4']);
  });
});
