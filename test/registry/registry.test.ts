import assert from 'assert';
import sinon from 'sinon';
import { openRegistry, type DeviceEvent, type DeviceRegistry } from '../../lib/registry';

const TYPES = [
  {
    name: 'freezer',
    offlineTimeoutMs: 10_000,
    attributesSchema: {
      type: 'object',
      properties: { limit: { type: 'number', maximum: 0 }, room: { type: 'string' } },
      additionalProperties: false,
    },
  },
  { name: 'press' },
];

function open(): Promise<DeviceRegistry> {
  return openRegistry({ name: 'test', store: { kind: 'memory' }, types: TYPES, defaultOfflineTimeoutMs: 60_000, sweepMs: 100 });
}

/** The registry's whole content, to show a rejected call changed nothing. */
function contents(registry: DeviceRegistry): string {
  return JSON.stringify(registry.list({ pageSize: 1000 }));
}

describe('device registry', () => {
  let clock: sinon.SinonFakeTimers;
  let registry: DeviceRegistry;
  let events: DeviceEvent[];

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    registry = await open();
    events = [];
    registry.on('device', (e) => events.push(e));
    await registry.register({ id: 'fz-1', type: 'freezer', attributes: { limit: -18 } });
  });
  afterEach(async () => {
    await registry.close();
    clock.restore();
  });

  describe('rejects bad input with the field and reason, and changes nothing', () => {
    const cases: Array<[string, (r: DeviceRegistry) => Promise<unknown>, string, RegExp]> = [
      ['an id with a topic level', (r) => r.register({ id: 'a/b' }), 'INVALID_DEVICE_ID', /deviceId contains "\/"/],
      ['an id with +', (r) => r.register({ id: 'a+' }), 'INVALID_DEVICE_ID', /deviceId contains "\+"/],
      ['an id with #', (r) => r.register({ id: '#' }), 'INVALID_DEVICE_ID', /deviceId contains "#"/],
      ['an id with a space', (r) => r.register({ id: 'a b' }), 'INVALID_DEVICE_ID', /deviceId contains " "/],
      ['__proto__ as id', (r) => r.register({ id: '__proto__' }), 'INVALID_DEVICE_ID', /reserved/],
      ['an id over 128 characters', (r) => r.register({ id: 'x'.repeat(129) }), 'INVALID_DEVICE_ID', /at most 128/],
      [
        'attributes failing the schema',
        (r) => r.register({ id: 'fz-2', type: 'freezer', attributes: { limit: 5 } }),
        'SCHEMA_VALIDATION',
        /attributes failed schema: \/limit must be <= 0/,
      ],
      ['an update failing the schema', (r) => r.update('fz-1', { attributes: { colour: 'red' } }), 'SCHEMA_VALIDATION', /must not have property "colour"/],
      [
        'a hostile attribute key',
        (r) => r.register({ id: 'p1', type: 'press', attributes: JSON.parse('{"__proto__":{"x":1}}') as Record<string, unknown> }),
        'INVALID_FIELD',
        /must not have the key "__proto__"/,
      ],
      [
        'a hostile key deep in an array, named by its path',
        (r) => r.register({ id: 'p4', type: 'press', attributes: JSON.parse('{"zones":[1,{"ok":2},{"a":{"constructor":3}}]}') as Record<string, unknown> }),
        'INVALID_FIELD',
        /attributes\.zones\[2\]\.a must not have the key "constructor"/,
      ],
      ['an unknown type', (r) => r.register({ id: 'p2', type: 'boiler' }), 'UNKNOWN_TYPE', /type "boiler" is not a device type/],
      ['a duplicate registration', (r) => r.register({ id: 'fz-1', type: 'freezer' }), 'DEVICE_EXISTS', /already registered/],
      ['an update of an unknown device', (r) => r.update('nope', { name: 'x' }), 'DEVICE_NOT_FOUND', /nope is not registered/],
      ['a removal of an unknown device', (r) => r.remove('nope'), 'DEVICE_NOT_FOUND', /nope is not registered/],
      ['a touch of an unknown device', (r) => r.touch('nope'), 'DEVICE_NOT_FOUND', /nope is not registered/],
      ['bad tags', (r) => r.register({ id: 'p3', tags: ['ok', 'not ok'] }), 'INVALID_FIELD', /tags has "not ok"/],
    ];
    for (const [what, call, code, message] of cases) {
      it(what, async () => {
        const before = contents(registry);
        const eventsBefore = events.length;
        await assert.rejects(call(registry), (err: Error & { code?: string; field?: string }) => {
          assert.strictEqual(err.code, code);
          assert.match(err.message, message);
          assert.ok(err.field, 'names the field');
          return true;
        });
        assert.strictEqual(contents(registry), before);
        assert.strictEqual(events.length, eventsBefore, 'no event for a rejected call');
      });
    }
  });

  it('emits online on the first touch and offline once when the type timeout passes with nothing arriving', async () => {
    await registry.touch('fz-1');
    assert.strictEqual(registry.isOnline('fz-1'), true);
    await clock.tickAsync(9_000);
    await registry.touch('fz-1');
    await clock.tickAsync(9_900);
    assert.strictEqual(registry.isOnline('fz-1'), true, 'seen 9.9 s ago: still online');
    await clock.tickAsync(30_000);
    assert.strictEqual(registry.isOnline('fz-1'), false);
    assert.deepStrictEqual(
      events.map((e) => e.event),
      ['registered', 'online', 'offline'],
    );
    await registry.touch('fz-1');
    assert.deepStrictEqual(events.map((e) => e.event).slice(-1), ['online']);
  });

  it('uses the registry default timeout for devices of types without one', async () => {
    await registry.register({ id: 'pr-1', type: 'press' });
    await registry.touch('pr-1');
    await clock.tickAsync(59_000);
    assert.strictEqual(registry.isOnline('pr-1'), true);
    await clock.tickAsync(2_000);
    assert.strictEqual(registry.isOnline('pr-1'), false);
  });

  it('auto-registers an unknown device on touch when asked, once even for concurrent touches', async () => {
    const [a, b] = await Promise.all([
      registry.touch('new-1', { autoRegister: true, type: 'press' }),
      registry.touch('new-1', { autoRegister: true, type: 'press' }),
    ]);
    assert.strictEqual(a.type, 'press');
    assert.strictEqual(b.online, true);
    assert.strictEqual(events.filter((e) => e.event === 'registered' && e.deviceId === 'new-1').length, 1);
  });

  it('issues a credential once, keeps only its hash and verifies it', async () => {
    clock.restore();
    const { token, device } = await registry.register({ id: 'cred-1', type: 'press' }, { issueToken: true });
    assert.ok(token && token.length >= 32);
    assert.ok(!JSON.stringify(device).includes(token), 'the record does not carry the token');
    assert.ok(!('secret' in device), 'the hash never leaves the registry');
    assert.strictEqual(await registry.verify('cred-1', token), true);
    assert.strictEqual(await registry.verify('cred-1', `${token}x`), false);
    assert.strictEqual(await registry.verify('fz-1', token), false, 'a device without a credential never verifies');
    assert.strictEqual(await registry.verify('unknown', token), false);
    clock = sinon.useFakeTimers();
  });

  it('hands out copies: changing a returned record does not change the registry', async () => {
    const record = registry.get('fz-1');
    assert.ok(record);
    record.attributes.limit = 99;
    record.tags.push('x');
    assert.strictEqual(registry.get('fz-1')?.attributes.limit, -18);
    assert.deepStrictEqual(registry.get('fz-1')?.tags, []);
  });

  it('upserts when allowed, keeping what the update leaves out', async () => {
    await registry.update('fz-1', { tags: ['cold-room'] });
    const { created, device } = await registry.register({ id: 'fz-1', name: 'Freezer 1' }, { upsert: true });
    assert.strictEqual(created, false);
    assert.strictEqual(device.name, 'Freezer 1');
    assert.deepStrictEqual(device.tags, ['cold-room']);
    assert.strictEqual(device.attributes.limit, -18);
  });

  it('pages lists and filters by online', async () => {
    for (let i = 0; i < 25; i++) await registry.register({ id: `p-${i}`, type: 'press' });
    await registry.touch('p-3');
    const page = registry.list({ type: 'press', page: 2, pageSize: 10 });
    assert.strictEqual(page.total, 25);
    assert.deepStrictEqual(
      page.devices.map((d) => d.id),
      ['p-20', 'p-21', 'p-22', 'p-23', 'p-24'],
    );
    assert.deepStrictEqual(
      registry.list({ online: true }).devices.map((d) => d.id),
      ['p-3'],
    );
    assert.throws(() => registry.list({ pageSize: 5000 }), /pageSize must be a whole number from 1 to 1000/);
  });
});
