import assert from 'assert';
import { AlarmBoard, alarmControl } from '../../lib/dashboard/alarm-board';
import { Board } from '../../lib/dashboard/board';
import { DeviceBoard } from '../../lib/dashboard/device-board';
import { M2MError } from '../../lib/errors';

const event = (fields: Record<string, unknown>): Record<string, unknown> => ({
  event: 'raised',
  severity: 'major',
  deviceId: 'press-1',
  rule: 'hot',
  metric: 'temp',
  value: 90,
  threshold: 80,
  active: true,
  acknowledged: false,
  raisedAt: 1000,
  ts: 1000,
  text: 'hot',
  ...fields,
});
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof M2MError ? err.code : 'not an M2MError';
  }
  return undefined;
};

describe('dashboard boards (the rows behind the widgets)', () => {
  it('a board sends only what changed since the last delta, and a removed row as its key', () => {
    const board = new Board<{ key: string; v: number }>(10);
    board.put({ key: 'a', v: 1 });
    board.put({ key: 'b', v: 1 });
    board.put({ key: 'a', v: 2 });
    assert.deepStrictEqual(board.takeDelta(), {
      kind: 'delta',
      upsert: [
        { key: 'a', v: 2 },
        { key: 'b', v: 1 },
      ],
      remove: [],
      dropped: 0,
    });
    assert.strictEqual(board.hasChanges(), false);
    board.delete('a');
    assert.deepStrictEqual(board.takeDelta(), { kind: 'delta', upsert: [], remove: ['a'], dropped: 0 });
    assert.deepStrictEqual(board.snapshot(), { kind: 'snapshot', items: [{ key: 'b', v: 1 }], dropped: 0 });
  });

  it('a full board keeps its rows and counts the new ones it refused', () => {
    const board = new Board<{ key: string }>(2);
    for (const key of ['a', 'b', 'c', 'd']) board.put({ key });
    board.put({ key: 'a' });
    assert.deepStrictEqual([board.size, board.dropped], [2, 2]);
  });

  it('alarm rows follow the events: raised (new), acknowledged, shelved keeps the ack state, cleared but unacknowledged stays, inactive leaves', () => {
    const alarms = new AlarmBoard();
    assert.deepStrictEqual(
      alarms.apply(event({})).map((r) => r.key),
      ['press-1/hot'],
      'a new unacknowledged alarm',
    );
    assert.deepStrictEqual(alarms.apply(event({ event: 'acknowledged', acknowledged: true, by: 'ops' })), []);
    assert.deepStrictEqual([alarms.rows.get('press-1/hot')?.state, alarms.rows.get('press-1/hot')?.by], ['acknowledged', 'ops']);
    alarms.apply(event({ event: 'shelved', acknowledged: true }));
    assert.strictEqual(alarms.rows.get('press-1/hot')?.state, 'shelved');
    alarms.apply(event({ event: 'unshelved', acknowledged: true }));
    assert.strictEqual(alarms.rows.get('press-1/hot')?.state, 'acknowledged');
    alarms.apply(event({ rule: 'cold', event: 'raised' }));
    alarms.apply(event({ rule: 'cold', event: 'cleared', active: true }));
    assert.deepStrictEqual([alarms.rows.get('press-1/cold')?.state, alarms.rows.get('press-1/cold')?.cleared], ['unacknowledged', true]);
    alarms.apply(event({ event: 'cleared', active: false, acknowledged: true }));
    assert.strictEqual(alarms.rows.get('press-1/hot'), undefined);
  });

  it("a rule's list reply (alarm states, no event) fills the rows", () => {
    const alarms = new AlarmBoard();
    const listed = alarms.apply([
      {
        alarmId: 'x',
        deviceId: 'a',
        rule: 'r',
        metric: 'm',
        severity: 'minor',
        active: true,
        acknowledged: false,
        conditionCleared: false,
        shelved: false,
        shelvedUntil: null,
        value: 1,
        threshold: [0, 2],
        raisedAt: 5,
      },
      {
        alarmId: 'y',
        deviceId: 'b',
        rule: 'r',
        metric: 'm',
        severity: 'warning',
        active: true,
        acknowledged: true,
        conditionCleared: false,
        shelved: true,
        shelvedUntil: 9,
        value: null,
        threshold: null,
        raisedAt: 6,
      },
    ]);
    assert.deepStrictEqual(
      listed.map((r) => r.key),
      ['a/r'],
    );
    assert.deepStrictEqual([alarms.rows.get('a/r')?.threshold, alarms.rows.get('b/r')?.state], [[0, 2], 'shelved']);
  });

  it('anything but an alarm event is INVALID_PAYLOAD, naming the field', () => {
    const alarms = new AlarmBoard();
    for (const bad of [null, 'x', 42, event({ deviceId: 7 }), event({ rule: undefined }), event({ event: 'exploded' }), event({ severity: 'fatal' })]) {
      assert.strictEqual(
        codeOf(() => alarms.apply(bad)),
        'INVALID_PAYLOAD',
        JSON.stringify(bad),
      );
    }
    assert.strictEqual(alarms.rows.size, 0);
  });

  it("a button press becomes the rule's control message; shelve takes the widget's duration unless given", () => {
    assert.deepStrictEqual(alarmControl({ op: 'ack', deviceId: 'a', rule: 'r' }, 60, 'dashboard'), { topic: 'ack', deviceId: 'a', rule: 'r', by: 'dashboard' });
    assert.deepStrictEqual(alarmControl({ op: 'shelve', deviceId: 'a' }, 60, 'ops'), { topic: 'shelve', deviceId: 'a', by: 'ops', duration: 60 });
    assert.strictEqual(
      codeOf(() => alarmControl({ op: 'delete', deviceId: 'a' }, 60, 'x')),
      'INVALID_PAYLOAD',
    );
    assert.strictEqual(
      codeOf(() => alarmControl({ op: 'shelve', deviceId: 'a', duration: -1 }, 60, 'x')),
      'INVALID_PAYLOAD',
    );
  });

  it('device rows from events, records, pages and telemetry; a bad device id is INVALID_DEVICE_ID', () => {
    const devices = new DeviceBoard();
    const record = { id: 'd1', name: 'D 1', type: 't', attributes: {}, tags: ['x'], createdAt: 1, updatedAt: 1, lastSeen: 5, online: true };
    devices.applyMessage({ payload: { event: 'registered', deviceId: 'd1', device: record, ts: 1 } });
    devices.applyMessage({ payload: { devices: [{ ...record, id: 'd2' }], total: 1, page: 0, pageSize: 100 } });
    devices.applyMessage({ deviceId: 'd1', payload: { temp: 1 }, timestamp: 10 });
    assert.deepStrictEqual(devices.rows.get('d1'), { key: 'd1', id: 'd1', name: 'D 1', type: 't', tags: ['x'], online: true, lastSeen: 10 });
    devices.applyMessage({ deviceId: 'd1', payload: {}, timestamp: 3 });
    assert.strictEqual(devices.rows.get('d1')?.lastSeen, 10, 'an older message does not move last seen back');
    devices.applyMessage({ payload: { event: 'removed', deviceId: 'd2', device: { ...record, id: 'd2' }, ts: 2 } });
    assert.deepStrictEqual(
      [...devices.rows.values()].map((r) => r.id),
      ['d1'],
    );
    assert.strictEqual(
      codeOf(() => devices.applyMessage({ deviceId: 'a/b', payload: {} })),
      'INVALID_DEVICE_ID',
    );
    assert.strictEqual(
      codeOf(() => devices.applyMessage({ payload: 'hello' })),
      'INVALID_PAYLOAD',
    );
  });
});
