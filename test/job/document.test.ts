import assert from 'assert';
import { openRegistry, type DeviceRegistry } from '../../lib/registry';
import { rig, type Rig } from './harness';

// Bad input starts nothing: an empty target, an unknown command, parameters failing the command's schema, a rate
// or percentage out of range, a control for an unknown job.
describe('m2m-job: bad input is refused before anything is sent', () => {
  let r: Rig;
  let registry: DeviceRegistry;
  beforeEach(async () => {
    registry = await openRegistry({
      name: `jobs-${Math.random()}`,
      store: { kind: 'memory' },
      types: [
        {
          name: 'pump',
          commands: {
            update: { paramsSchema: { type: 'object', required: ['version'], properties: { version: { type: 'string', pattern: '^\\d+\\.\\d+$' } } } },
            reboot: {},
          },
        },
        { name: 'lamp' },
        {
          name: 'heater',
          desiredSchema: {
            type: 'object',
            required: ['mode'],
            additionalProperties: false,
            properties: {
              mode: { enum: ['eco', 'comfort'] },
              setpoint: { type: 'number', minimum: 5, maximum: 30 },
              schedule: { type: 'object', required: ['on'], properties: { on: { type: 'string' }, off: { type: 'string' } } },
            },
          },
        },
      ],
    });
    for (let i = 1; i <= 6; i++) await registry.register({ id: `p${i}`, type: 'pump', tags: i <= 3 ? ['hall-3'] : ['hall-4'], attributes: { fw: i } });
    await registry.register({ id: 'l1', type: 'lamp', tags: ['hall-3'] });
    await registry.register({ id: 'h1', type: 'heater' });
    r = rig({ registry });
  });
  afterEach(async () => {
    r.close();
    r.clock.restore();
    await registry.close();
  });

  const refused = (doc: unknown, expected: { code: string; field?: string }, message?: RegExp): void => {
    assert.throws(
      () => r.manager.start(doc),
      (err: Error & { code?: string; field?: string }) => {
        assert.strictEqual(err.code, expected.code, err.message);
        if (expected.field) assert.strictEqual(err.field, expected.field);
        if (message) assert.match(err.message, message);
        return true;
      },
    );
    assert.deepStrictEqual(r.manager.list(), [], 'no job was created');
  };

  it('an empty target, or one nothing matches', async () => {
    refused({ command: 'reboot' }, { code: 'EMPTY_TARGET', field: 'target' });
    refused({ target: { devices: [] }, command: 'reboot' }, { code: 'EMPTY_TARGET', field: 'target.devices' });
    refused({ target: {}, command: 'reboot' }, { code: 'EMPTY_TARGET', field: 'target' });
    refused({ target: { type: 'pump', tags: ['hall-9'] }, command: 'reboot' }, { code: 'EMPTY_TARGET' }, /no device matches/);
    await r.clock.tickAsync(1000);
    assert.strictEqual(r.sent.length, 0);
  });

  it('an unknown command, or parameters failing its schema', async () => {
    refused(
      { target: { type: 'pump' }, command: 'explode' },
      { code: 'UNKNOWN_COMMAND', field: 'command' },
      /pump .* has no command "explode"; known: update, reboot/,
    );
    refused({ target: { type: 'pump' }, command: 'update', params: { version: 'latest' } }, { code: 'SCHEMA_VALIDATION' }, /must match pattern/);
    refused({ target: { type: 'pump' }, command: 'update' }, { code: 'SCHEMA_VALIDATION' }, /version is required/);
    refused({ target: { devices: ['p1', 'ghost'] }, command: 'reboot' }, { code: 'DEVICE_NOT_FOUND' }, /ghost/);
    refused({ target: { devices: ['p1'] }, command: 'bad/name' }, { code: 'INVALID_COMMAND' });
    refused({ target: { devices: ['p1'] } }, { code: 'INVALID_JOB', field: 'command' });
    refused({ target: { devices: ['p1'] }, command: 'reboot', desired: { a: 1 } }, { code: 'INVALID_JOB', field: 'command' });
    await r.clock.tickAsync(1000);
    assert.strictEqual(r.sent.length, 0);
  });

  it("a desired patch whose values fail the device type's desiredSchema", async () => {
    refused(
      { target: { type: 'heater' }, desired: { setpoint: 80 } },
      { code: 'SCHEMA_VALIDATION' },
      /desiredSchema of device type heater.*setpoint must be <= 30/,
    );
    refused(
      { target: { devices: ['l1', 'h1'] }, desired: { mode: 'turbo' } },
      { code: 'SCHEMA_VALIDATION' },
      /mode must be equal to one of the allowed values/,
    );
    refused({ target: { devices: ['h1'] }, desired: { colour: 'red' } }, { code: 'SCHEMA_VALIDATION' }, /must not have property "colour"/);
    refused({ target: { devices: ['h1'] }, desired: { schedule: { on: 7 } } }, { code: 'SCHEMA_VALIDATION' }, /schedule\/on must be string/);
    await r.clock.tickAsync(1000);
    assert.strictEqual(r.sent.length, 0, 'nothing was sent');
    // the rest of each device's document is its own: a patch need not carry required keys, and may delete keys
    r.manager.start({ jobId: 'warm', target: { type: 'heater' }, desired: { setpoint: 21, schedule: { off: '22:00' }, mode: null } });
    await r.clock.tickAsync(1000);
    assert.strictEqual(r.sent.length, 1);
  });

  it('a rate, bound, percentage, retry count or duration out of range', () => {
    const base = { target: { devices: ['p1'] }, command: 'reboot' };
    refused({ ...base, rollout: { perMinute: 0 } }, { code: 'INVALID_JOB', field: 'rollout.perMinute' });
    refused({ ...base, rollout: { perMinute: 1e9 } }, { code: 'INVALID_JOB', field: 'rollout.perMinute' });
    refused({ ...base, rollout: { maxInFlight: 2.5 } }, { code: 'INVALID_JOB', field: 'rollout.maxInFlight' });
    refused({ ...base, rollout: { ramp: { startPerMinute: 5000 } } }, { code: 'INVALID_JOB', field: 'rollout.ramp.startPerMinute' });
    refused({ ...base, abort: { failurePercent: 120 } }, { code: 'INVALID_JOB', field: 'abort.failurePercent' });
    refused({ ...base, abort: { timeoutPercent: -1 } }, { code: 'INVALID_JOB', field: 'abort.timeoutPercent' });
    refused({ ...base, abort: { minFinished: 5 } }, { code: 'INVALID_JOB', field: 'abort' });
    refused({ ...base, retries: 11 }, { code: 'INVALID_JOB', field: 'retries' });
    refused({ ...base, timeout: 0 }, { code: 'INVALID_JOB', field: 'timeout' });
    refused({ ...base, jobId: 'has space' }, { code: 'INVALID_JOB', field: 'jobId' });
    refused('start everything', { code: 'INVALID_JOB', field: 'payload' });
  });

  it('a control for an unknown job, or an unknown control', () => {
    assert.throws(() => r.manager.pause('nope'), { code: 'JOB_NOT_FOUND', field: 'jobId' });
    assert.throws(() => r.manager.control('explode', 'x'), { code: 'INVALID_CONTROL' });
    r.manager.start({ jobId: 'one', target: { devices: ['p1'] }, command: 'reboot' });
    assert.throws(() => r.manager.start({ jobId: 'one', target: { devices: ['p2'] }, command: 'reboot' }), { code: 'JOB_EXISTS' });
  });

  it('a query targets by type, tags, an attribute condition and presence', async () => {
    await registry.touch('p2');
    assert.strictEqual(r.manager.start({ jobId: 't1', target: { type: 'pump', tags: ['hall-3'] }, command: 'reboot' }).total, 3);
    assert.strictEqual(r.manager.start({ jobId: 't2', target: { tags: ['hall-3'] }, command: 'reboot' }).total, 4);
    assert.strictEqual(r.manager.start({ jobId: 't3', target: { type: 'pump', where: { attribute: 'fw', op: 'gte', value: 5 } }, command: 'reboot' }).total, 2);
    assert.strictEqual(r.manager.start({ jobId: 't4', target: { type: 'pump', online: true }, command: 'reboot' }).total, 1);
  });

  it('a continuous job also takes devices registered later that match', async () => {
    r.manager.start({ jobId: 'cont', target: { type: 'pump', tags: ['hall-3'], continuous: true }, command: 'reboot', rollout: { perMinute: 60_000 } });
    await r.clock.tickAsync(1000);
    assert.strictEqual(r.sent.length, 3);
    await registry.register({ id: 'p7', type: 'pump', tags: ['hall-3'] });
    await registry.register({ id: 'p8', type: 'pump', tags: ['hall-4'] });
    await r.clock.tickAsync(1000);
    assert.deepStrictEqual(
      r.sent.map((s) => s.deviceId),
      ['p1', 'p2', 'p3', 'p7'],
    );
    assert.strictEqual(r.manager.status('cont').state, 'in-progress', 'a continuous job runs until canceled');
  });

  it('skips devices still offline at the deadline, and starts those that come online before it', async () => {
    await registry.touch('p1');
    r.manager.start({ jobId: 'dl', target: { devices: ['p1', 'p2', 'p3'] }, command: 'reboot', deadline: 60_000, rollout: { perMinute: 60_000 } });
    await r.clock.tickAsync(1000);
    assert.deepStrictEqual(
      r.sent.map((s) => s.deviceId),
      ['p1'],
    );
    await registry.touch('p2');
    await r.clock.tickAsync(1000);
    assert.deepStrictEqual(
      r.sent.map((s) => s.deviceId),
      ['p1', 'p2'],
    );
    await r.clock.tickAsync(60_000);
    assert.strictEqual(r.manager.executionState('dl', 'p3'), 'skipped');
    assert.strictEqual(r.manager.status('dl').state, 'completed');
  });
});
