import assert from 'assert';
import { checkDeviceId, deviceIdProblem } from '../../lib/ids';

describe('device id contract', () => {
  it('accepts ids of A-Z a-z 0-9 . _ : - up to 128 characters', () => {
    for (const id of ['a', 'press-01', 'plant.A:line_2', 'x'.repeat(128)]) assert.strictEqual(checkDeviceId(id), id);
  });

  it('rejects topic levels, wildcards, spaces, NUL, prototype keys, empty and long ids with the reason', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['a/b', /contains "\/"/],
      ['a+', /contains "\+"/],
      ['#', /contains "#"/],
      ['a b', /contains " "/],
      ['a\u0000', /contains/],
      ['__proto__', /reserved/],
      ['constructor', /reserved/],
      ['', /empty/],
      ['x'.repeat(129), /at most 128/],
      [42, /must be a string/],
      [null, /got null/],
    ];
    for (const [id, reason] of cases) {
      assert.match(deviceIdProblem(id) ?? '', reason, String(id));
      assert.throws(
        () => checkDeviceId(id, 'msg.deviceId'),
        (err: Error & { code?: string }) => err.code === 'INVALID_DEVICE_ID' && /^msg\.deviceId /.test(err.message),
      );
    }
  });
});
