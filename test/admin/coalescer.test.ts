import assert from 'assert';
import sinon from 'sinon';
import { Coalescer } from '../../lib/admin/coalescer';

describe('Coalescer (live updates for the editor)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => clock.restore());

  it('publishes the first change at once, and the changes within the interval as one at its end', () => {
    const published: Array<[string, number]> = [];
    const c = new Coalescer((topic) => published.push([topic, Date.now()]), 250);
    c.mark('m2m/alarms');
    assert.deepStrictEqual(published, [['m2m/alarms', 1_000_000]]);
    clock.tick(10);
    c.mark('m2m/alarms');
    c.mark('m2m/alarms');
    c.mark('m2m/devices');
    assert.strictEqual(published.length, 1);
    clock.tick(240);
    assert.deepStrictEqual(published.slice(1), [
      ['m2m/alarms', 1_000_250],
      ['m2m/devices', 1_000_250],
    ]);
    clock.tick(10_000);
    assert.strictEqual(published.length, 3, 'nothing more without changes');
  });

  it('an alarm storm of 1,000 transitions a second for 10 s gives at most 4 updates a second', () => {
    let published = 0;
    const c = new Coalescer(() => published++, 250);
    for (let ms = 0; ms < 10_000; ms++) {
      c.mark('m2m/alarms');
      clock.tick(1);
    }
    clock.tick(250);
    assert.ok(published >= 39 && published <= 41, `${published} updates in 10 s`);
  });

  it('publishes nothing after close', () => {
    let published = 0;
    const c = new Coalescer(() => published++, 250);
    c.mark('a');
    c.mark('a');
    c.close();
    c.mark('a');
    clock.tick(1000);
    assert.strictEqual(published, 1);
  });
});
