import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import sinon from 'sinon';
import { COMMAND_RECORD_VERSION, MemoryCommandStore } from '../../lib/command';
import { M2MError } from '../../lib/errors';
import { openRegistry, type DeviceRegistry } from '../../lib/registry';
import { FAKE, VALVE, harness } from './harness';

// Stored command records carry a format version that is read: the first release's records resume, a newer
// format is refused, and a record that cannot be read stays in the store.

type V1Record = { id: string; deviceId: string; createdAt: number; dueAt: number };
const V1_RECORDS = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/command-records-v1.json'), 'utf8')) as Record<string, V1Record>;
const [PENDING, QUEUED] = Object.values(V1_RECORDS);

describe('stored command records', () => {
  let clock: sinon.SinonFakeTimers;
  let dir: string;
  let registry: DeviceRegistry;
  const open = (): Promise<DeviceRegistry> => openRegistry({ name: 'plant', store: { kind: 'file', dir }, types: [VALVE], defaultOfflineTimeoutMs: 60_000 });

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ ...FAKE, now: PENDING.createdAt + 4000 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-cmd-records-'));
    registry = await open();
    await registry.register({ id: 'v1', type: 'valve' });
    await registry.register({ id: 'v2', type: 'valve' });
    await registry.touch('v1');
  });
  afterEach(async () => {
    await registry.close();
    clock.restore();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Writes the records as an earlier process left them, and opens the store again as after a restart. */
  async function restartWith(records: Record<string, unknown>): Promise<void> {
    const state = await registry.state('command:n1');
    for (const [key, value] of Object.entries(records)) await state.set(key, value);
    await registry.close();
    registry = await open();
  }

  it("records of the first release (old-style ids, no version) resume after a restart and only their device's reply counts", async () => {
    await restartWith(V1_RECORDS);
    const h = harness({ registry, store: await registry.state('command:n1') });
    assert.deepStrictEqual([h.tracker.counts().pending, h.tracker.counts().queued], [1, 1]);
    assert.deepStrictEqual(h.warnings, []);
    const ok = JSON.stringify({ id: PENDING.id, status: 'ok' });
    assert.strictEqual(h.tracker.reply({ topic: 'devices/v2/replies', payload: ok }), 'foreign');
    assert.strictEqual(h.tracker.reply({ topic: 'devices/v1/replies', payload: ok }), 'matched');
    assert.deepStrictEqual(h.statuses(PENDING.id), ['succeeded']);

    await registry.touch('v2');
    assert.deepStrictEqual(
      h.sent.map((m) => m.payload.id),
      [QUEUED.id],
      'the queued one is flushed under its old id',
    );
    const correlation = h.sent[0].correlationData;
    assert.strictEqual(h.tracker.reply({ topic: 'devices/v2/replies', payload: '{}', correlationData: correlation }), 'matched');
    h.tracker.close();
  });

  it('a stepped-up record is written back in the current format', async () => {
    await restartWith({ [PENDING.id]: PENDING });
    const h = harness({ registry, store: await registry.state('command:n1') });
    await new Promise((resolve) => setImmediate(resolve));
    h.tracker.close();
    await registry.close();
    registry = await open();
    const stored = (await registry.state('command:n1')).get(PENDING.id) as { v: number; token: string };
    assert.strictEqual(stored.v, COMMAND_RECORD_VERSION);
    assert.match(stored.token, /^[A-Za-z0-9_-]{22}$/);
  });

  it('a record of a newer format is refused with STORE_TOO_NEW, and nothing is resumed or changed', () => {
    const store = new MemoryCommandStore();
    const newer = { ...PENDING, v: COMMAND_RECORD_VERSION + 1, somethingNew: true };
    void store.set(PENDING.id, newer);
    assert.throws(
      () => harness({ store }),
      (err: unknown) => err instanceof M2MError && err.code === 'STORE_TOO_NEW' && /newer version/.test(err.message),
    );
    assert.strictEqual(store.get(PENDING.id), newer);
  });

  it('a record it cannot read is kept in the store with a warning, and its id is not reused', () => {
    const store = new MemoryCommandStore();
    const broken = { id: 'job-3', deviceId: 'v1', phase: 'sideways' };
    void store.set('job-3', broken);
    void store.set('job-4', 'not a record');
    const h = harness({ store });
    assert.deepStrictEqual(store.keys(), ['job-3', 'job-4'], 'nothing deleted');
    assert.strictEqual(store.get('job-3'), broken);
    assert.strictEqual(h.warnings.length, 1);
    assert.match(h.warnings[0], /2 stored command record\(s\) kept aside in the store, not resumed: job-3 \(fields missing.*\), job-4 \(not an object\)/);
    assert.throws(() => h.tracker.submit({ deviceId: 'v1', command: 'close', commandId: 'job-3' }), /could not read/);
    assert.strictEqual(h.tracker.counts().pending, 0);
  });
});
