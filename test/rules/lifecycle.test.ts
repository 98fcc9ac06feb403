// Levels, reminders, escalation when unacknowledged, auto-clear and active schedules, with fake timers, each with
// a restart (a clean stop and a start over the same saved state) in the middle.
import assert from 'assert';
import sinon from 'sinon';
import { compileRules, type RuleDefinition } from '../../lib/rules';
import { rig } from './rig';

const T0 = Date.parse('2026-03-02T12:00:00Z'); // a Monday
const LEVELS: RuleDefinition = {
  name: 'heat',
  metric: 'temp',
  severity: 'warning',
  raise: {},
  levels: [
    { severity: 'warning', value: 30 },
    { severity: 'major', value: 35 },
    { severity: 'critical', value: 40 },
  ],
  hysteresis: 1,
};
const hot = (extra: Partial<RuleDefinition>): RuleDefinition => ({
  name: 'hot',
  metric: 'temp',
  severity: 'major',
  raise: { op: '>', value: 30 },
  clear: { op: '<', value: 28 },
  ...extra,
});

let clock: sinon.SinonFakeTimers;
const at = (iso: string): void => void clock.tick(Math.max(0, Date.parse(iso) - Date.now()));

describe('rule lifecycle', () => {
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'Date'] });
  });
  afterEach(() => clock.restore());

  describe('levels', () => {
    it('one alarm moves up and down between levels with hysteresis, and clears below the lowest', async () => {
      const r = await rig([LEVELS]);
      const feed = (...temps: number[]): string[] => {
        for (const temp of temps) r.send({ temp });
        return r.take();
      };
      assert.deepStrictEqual(feed(29, 31), ['raised:heat:warning']);
      assert.deepStrictEqual(feed(36), ['escalated:heat:major']);
      assert.deepStrictEqual(feed(41), ['escalated:heat:critical']);
      assert.deepStrictEqual(feed(39.5, 39.1), [], 'within 1 of the critical level: stays critical');
      assert.deepStrictEqual(feed(38.9), ['deescalated:heat:major']);
      assert.deepStrictEqual(feed(40.5), ['escalated:heat:critical'], 'back above the level itself');
      assert.deepStrictEqual(feed(31), ['deescalated:heat:warning'], 'straight down two levels: one event');
      assert.deepStrictEqual(feed(29.5), [], 'hysteresis before clearing too');
      assert.deepStrictEqual(feed(28.9), ['cleared:heat:warning']);
      assert.strictEqual(r.engine.list().length, 0);
      await r.close();
    });

    it('the event says the level it reached: severity, value and the level threshold', async () => {
      const r = await rig([LEVELS]);
      r.send({ temp: 37 });
      assert.deepStrictEqual(
        r.events.map((e) => [e.event, e.severity, e.value, e.threshold]),
        [['raised', 'major', 37, 35]],
      );
      await r.close();
    });

    it('below: lower values are worse', async () => {
      const r = await rig([
        {
          ...LEVELS,
          name: 'cold',
          levelDirection: 'below',
          levels: [
            { severity: 'warning', value: 5 },
            { severity: 'critical', value: 0 },
          ],
          hysteresis: 0,
        },
      ]);
      r.send({ temp: 4 });
      r.send({ temp: -1 });
      r.send({ temp: 6 });
      assert.deepStrictEqual(r.take(), ['raised:cold:warning', 'escalated:cold:critical', 'cleared:cold:critical']);
      await r.close();
    });

    it('an expression gives the value: levels over a 5-minute average', async () => {
      const r = await rig([{ ...LEVELS, condition: 'expression', metric: '', raise: { expr: 'avg(temp, 5m)' } }]);
      r.send({ temp: 34 });
      clock.tick(60_000);
      r.send({ temp: 40 });
      assert.deepStrictEqual(r.take(), ['raised:heat:warning', 'escalated:heat:major']);
      await r.close();
    });

    it('a restart in the middle keeps the level: no new raise, the next move is from where it was', async () => {
      const r = await rig([LEVELS]);
      r.send({ temp: 36 });
      await r.restart();
      assert.deepStrictEqual(
        r.engine.list().map((a) => a.severity),
        ['major'],
      );
      r.send({ temp: 35.5 });
      r.send({ temp: 33 });
      assert.deepStrictEqual(r.take(), ['raised:heat:major', 'deescalated:heat:warning']);
      await r.close();
    });

    it('levels out of order or named twice are refused at deploy', () => {
      assert.throws(
        () =>
          compileRules([
            {
              ...LEVELS,
              levels: [
                { severity: 'warning', value: 30 },
                { severity: 'major', value: 20 },
              ],
            },
          ]),
        /levels must be higher for each more severe level/,
      );
      assert.throws(
        () =>
          compileRules([
            {
              ...LEVELS,
              levels: [
                { severity: 'warning', value: 30 },
                { severity: 'warning', value: 40 },
              ],
            },
          ]),
        /name warning twice/,
      );
    });
  });

  describe('reminders', () => {
    it('a reminder every T while unacknowledged, none after the ack, and across a restart', async () => {
      const r = await rig([hot({ reminderEvery: 60 })]);
      r.send({ temp: 31 });
      clock.tick(59_999);
      assert.deepStrictEqual(r.take(), ['raised:hot:major']);
      clock.tick(1);
      assert.deepStrictEqual(r.take(), ['reminder:hot:major']);
      clock.tick(30_000);
      await r.restart();
      clock.tick(30_000);
      assert.deepStrictEqual(r.take(), ['reminder:hot:major'], 'the restart kept the reminder at its time');
      r.control('ack', 'd1');
      clock.tick(600_000);
      assert.deepStrictEqual(r.take(), ['acknowledged:hot:major'], 'acknowledged: no more reminders');
      await r.close();
    });

    it('a shelved alarm reminds no one; a cleared one neither', async () => {
      const r = await rig([hot({ reminderEvery: 60 })]);
      r.send({ temp: 31 });
      r.control('shelve', 'd1', undefined, 150_000);
      clock.tick(120_000);
      assert.deepStrictEqual(r.take(), ['raised:hot:major', 'shelved:hot:major'], 'two reminders were due while shelved');
      r.send({ temp: 20 });
      clock.tick(600_000);
      assert.deepStrictEqual(r.take(), ['unshelved:hot:major'], 'no reminder while shelved (its clear was silent too), none once cleared');
      await r.close();
    });
  });

  describe('escalation when unacknowledged', () => {
    it('escalates once unacknowledged for T; an ack before T stops it; across a restart', async () => {
      const r = await rig([
        hot({ escalateAfter: 300, escalateTo: 'critical', escalateWhen: 'unacknowledged' }),
        hot({ name: 'acked', escalateAfter: 300, escalateTo: 'critical', escalateWhen: 'unacknowledged' }),
      ]);
      r.send({ temp: 31 });
      r.control('ack', 'd1', 'acked');
      clock.tick(200_000);
      await r.restart();
      clock.tick(99_999);
      assert.deepStrictEqual(r.take(), ['raised:hot:major', 'raised:acked:major', 'acknowledged:acked:major']);
      clock.tick(1);
      assert.deepStrictEqual(r.take(), ['escalated:hot:critical']);
      clock.tick(600_000);
      assert.deepStrictEqual(r.take(), []);
      await r.close();
    });

    it('escalateWhen active (as before) escalates an acknowledged alarm too', async () => {
      const r = await rig([hot({ escalateAfter: 300, escalateTo: 'critical' })]);
      r.send({ temp: 31 });
      r.control('ack', 'd1');
      clock.tick(300_000);
      assert.deepStrictEqual(r.take(), ['raised:hot:major', 'acknowledged:hot:major', 'escalated:hot:critical']);
      await r.close();
    });
  });

  describe('auto-clear', () => {
    const forced: RuleDefinition = { name: 'forced', metric: 'doorForced', severity: 'critical', raise: { op: '==', value: 1 }, autoClearAfter: 120 };
    it('an event with no clear condition clears T after it was raised, also across a restart', async () => {
      const r = await rig([forced]);
      r.send({ doorForced: 1 });
      r.send({ doorForced: 0 });
      clock.tick(60_000);
      assert.deepStrictEqual(r.take(), ['raised:forced:critical'], 'the condition ending does not clear it');
      await r.restart();
      clock.tick(59_999);
      assert.deepStrictEqual(r.take(), []);
      clock.tick(1);
      assert.deepStrictEqual(r.take(), ['cleared:forced:critical']);
      await r.close();
    });

    it('latched, it waits for the ack after T', async () => {
      const r = await rig([{ ...forced, latch: true }]);
      r.send({ doorForced: 1 });
      clock.tick(120_000);
      assert.deepStrictEqual(r.take(), ['raised:forced:critical']);
      r.control('ack', 'd1');
      assert.deepStrictEqual(r.take(), ['acknowledged:forced:critical', 'cleared:forced:critical']);
      await r.close();
    });

    it('with a clear condition or levels it is refused at deploy', () => {
      assert.throws(() => compileRules([hot({ autoClearAfter: 60 })]), /autoClearAfter is for rules without a clear condition/);
      assert.throws(() => compileRules([{ ...LEVELS, autoClearAfter: 60 }]), /autoClearAfter/);
    });
  });

  describe('active schedule', () => {
    const weekdays = { type: 'weekly' as const, days: [1, 2, 3, 4, 5], from: '06:00', to: '22:00', tz: 'Europe/Berlin' };

    it('outside the window the rule does not raise; at the window opening the next sample does', async () => {
      const r = await rig([hot({ schedule: weekdays })]);
      at('2026-03-03T04:59:00Z'); // 05:59 in Berlin (CET)
      r.send({ temp: 31 });
      assert.deepStrictEqual(r.take(), []);
      at('2026-03-03T05:00:00Z');
      r.send({ temp: 31 });
      assert.deepStrictEqual(r.take(), ['raised:hot:major']);
      await r.close();
    });

    it('an alarm active at the window end stays active and may clear; reminders pause and resume at the opening', async () => {
      const r = await rig([hot({ schedule: weekdays, reminderEvery: 3600 })]);
      at('2026-03-02T20:30:00Z'); // 21:30 Berlin
      r.send({ temp: 31 });
      at('2026-03-02T21:30:00Z'); // 22:30: a reminder was due at 22:30, outside
      assert.deepStrictEqual(r.take(), ['raised:hot:major']);
      assert.strictEqual(r.engine.list().length, 1, 'still active after the window closed');
      await r.restart(); // in the middle of the closed window
      at('2026-03-03T04:59:59Z');
      assert.deepStrictEqual(r.take(), [], 'no reminders through the night');
      at('2026-03-03T05:00:00Z'); // 06:00 Tuesday
      assert.deepStrictEqual(r.take(), ['reminder:hot:major'], 'the first reminder when the window opens');
      at('2026-03-03T06:00:00Z');
      assert.deepStrictEqual(r.take(), ['reminder:hot:major']);
      at('2026-03-03T21:30:00Z');
      r.take();
      r.send({ temp: 20 });
      assert.deepStrictEqual(r.take(), ['cleared:hot:major'], 'outside the window an alarm still clears');
      await r.close();
    });

    it('a raise delay running at the window end is dropped', async () => {
      const r = await rig([hot({ schedule: weekdays, raiseDelay: 600 })]);
      at('2026-03-02T20:55:00Z');
      r.send({ temp: 31 });
      at('2026-03-02T21:10:00Z');
      assert.deepStrictEqual(r.take(), []);
      assert.strictEqual(r.engine.list().length, 0);
      await r.close();
    });

    it('the window follows the wall clock across the DST change (06:00 Berlin is 05:00 UTC, then 04:00 UTC)', async () => {
      const r = await rig([hot({ schedule: weekdays })]);
      at('2026-03-27T04:30:00Z'); // Friday 05:30 CET
      r.send({ temp: 31 });
      at('2026-03-27T05:00:00Z'); // 06:00 CET
      r.send({ temp: 31 });
      r.send({ temp: 20 });
      assert.deepStrictEqual(r.take(), ['raised:hot:major', 'cleared:hot:major']);
      await r.restart();
      at('2026-03-30T03:59:00Z'); // Monday 05:59 CEST
      r.send({ temp: 31 });
      assert.deepStrictEqual(r.take(), []);
      at('2026-03-30T04:00:00Z'); // Monday 06:00 CEST
      r.send({ temp: 31 });
      assert.deepStrictEqual(r.take(), ['raised:hot:major']);
      await r.close();
    });

    it('a cron expression: active in the minutes it matches; escalation waits for the window', async () => {
      const r = await rig([hot({ schedule: { type: 'cron', cron: '* 8-16 * * mon-fri', tz: 'UTC' }, escalateAfter: 1800, escalateTo: 'critical' })]);
      at('2026-03-02T16:45:00Z');
      r.send({ temp: 31 });
      at('2026-03-02T17:15:00Z');
      assert.deepStrictEqual(r.take(), ['raised:hot:major'], 'escalation due at 17:15, outside');
      await r.restart();
      at('2026-03-03T07:59:00Z');
      assert.deepStrictEqual(r.take(), []);
      at('2026-03-03T08:00:00Z');
      assert.deepStrictEqual(r.take(), ['escalated:hot:critical']);
      await r.close();
    });

    it('a bad schedule is refused at deploy naming the field', () => {
      assert.throws(() => compileRules([hot({ schedule: { type: 'cron', cron: '* 25 * * *' } })]), /schedule\.cron hour "25" must be 0 to 23/);
      assert.throws(() => compileRules([hot({ schedule: { ...weekdays, tz: 'Mars/Olympus' } })]), /schedule\.tz is not a time zone/);
      assert.throws(() => compileRules([hot({ schedule: { ...weekdays, from: '6am' } })]), /schedule\.from must be a time HH:MM/);
    });
  });
});
