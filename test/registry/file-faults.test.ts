// The file store on a failing disk: short writes, a full disk (injected, and a real tmpfs filled to the last
// byte), EIO on fsync, truncate and rename. After each, nothing unacknowledged was acknowledged, every
// acknowledged write is there on reopening, and the store opens without complaint.
import assert from 'assert';
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { openRegistry, type DeviceRegistry } from '../../lib/registry';
import { FaultyFs, fileSize, openFileRegistry, tempDir } from './fixtures/file-store';

async function reopenPlain(dir: string): Promise<{ registry: DeviceRegistry; warnings: string[] }> {
  const warnings: string[] = [];
  const registry = await openRegistry({ name: 'reopen', store: { kind: 'file', dir }, warn: (m) => warnings.push(m) });
  return { registry, warnings };
}

function codesOf(results: Array<PromiseSettledResult<unknown>>): string[] {
  return results.map((r) => (r.status === 'fulfilled' ? 'ok' : String((r.reason as { code?: string }).code)));
}

describe('file store on a failing disk', () => {
  let dir: string;
  let faults: FaultyFs;
  let warnings: string[];
  const open: DeviceRegistry[] = [];
  const openFaulty = async (compactAfter = 1_000_000): Promise<DeviceRegistry> => {
    const registry = await openFileRegistry({ dir, fs: faults, compactAfter, warn: (m) => warnings.push(m) });
    open.push(registry);
    return registry;
  };
  const journal = (): string => path.join(dir, 'journal.log');
  const snapshot = (): string => path.join(dir, 'snapshot.json');

  beforeEach(() => {
    dir = tempDir('m2m-faults-');
    faults = new FaultyFs();
    warnings = [];
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close().catch(() => undefined)));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('completes short writes, so every acknowledged group is whole on disk', async () => {
    faults.maxWriteBytes = 13;
    const registry = await openFaulty();
    await Promise.all(Array.from({ length: 200 }, (_, i) => registry.register({ id: `short-${i}`, attributes: { i, text: 'ü'.repeat(i % 9) } })));
    await registry.close();
    const { registry: reopened, warnings: reopenWarnings } = await reopenPlain(dir);
    open.push(reopened);
    assert.strictEqual(reopened.counts().devices, 200);
    assert.strictEqual(reopened.get('short-199')?.attributes.text, 'ü'.repeat(199 % 9));
    assert.deepStrictEqual(reopenWarnings, []);
  });

  it('fails a whole group on a full disk, acknowledges none of it, cuts it off, and works again once space returns', async () => {
    const registry = await openFaulty();
    await registry.register({ id: 'before' });
    const sizeBefore = fileSize(journal());
    faults.spaceLeft = 300; // part of the group reaches the disk, then ENOSPC
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => registry.register({ id: `full-${i}` })));
    assert.deepStrictEqual(codesOf(results), Array(20).fill('STORE_WRITE_FAILED'));
    assert.match(String((results[0] as PromiseRejectedResult).reason.message), /ENOSPC.*|nothing of this write was stored/);
    assert.strictEqual(fileSize(journal()), sizeBefore, 'the torn part of the group is cut off the journal');
    assert.strictEqual(registry.has('full-0'), false, 'the registry does not keep what was not stored');

    faults.spaceLeft = Infinity;
    await registry.register({ id: 'after' });
    await registry.close();
    const { registry: reopened, warnings: reopenWarnings } = await reopenPlain(dir);
    open.push(reopened);
    assert.deepStrictEqual(
      reopened
        .list()
        .devices.map((d) => d.id)
        .sort(),
      ['after', 'before'],
    );
    assert.deepStrictEqual(reopenWarnings, [], 'nothing torn or glued is left in the journal');
  });

  it('fails the group when fsync reports EIO, and cuts it back', async () => {
    const registry = await openFaulty();
    await registry.register({ id: 'kept' });
    faults.failures.push({ op: 'datasync', code: 'EIO', file: /journal\.log$/ });
    await assert.rejects(
      registry.register({ id: 'unsynced' }),
      (err: { code?: string; message: string }) => err.code === 'STORE_WRITE_FAILED' && /EIO/.test(err.message),
    );
    await registry.register({ id: 'later' });
    await registry.close();
    const { registry: reopened, warnings: reopenWarnings } = await reopenPlain(dir);
    open.push(reopened);
    assert.deepStrictEqual(
      reopened
        .list()
        .devices.map((d) => d.id)
        .sort(),
      ['kept', 'later'],
    );
    assert.deepStrictEqual(reopenWarnings, []);
  });

  it('cuts a torn group off before the next write when the first cut failed, and refuses to write while it cannot', async () => {
    const registry = await openFaulty();
    await registry.register({ id: 'kept' });
    faults.spaceLeft = 100;
    faults.failures.push({ op: 'truncate', code: 'EIO' }, { op: 'truncate', code: 'EIO' });
    await assert.rejects(registry.register({ id: 'torn', attributes: { pad: 'x'.repeat(300) } }), { code: 'STORE_WRITE_FAILED' });
    faults.spaceLeft = Infinity;
    // The torn bytes are still there and the cut fails again: writing now would glue onto them.
    await assert.rejects(registry.register({ id: 'refused' }), { code: 'STORE_WRITE_FAILED' });
    await registry.register({ id: 'later' });
    await registry.close();
    const { registry: reopened, warnings: reopenWarnings } = await reopenPlain(dir);
    open.push(reopened);
    assert.deepStrictEqual(
      reopened
        .list()
        .devices.map((d) => d.id)
        .sort(),
      ['kept', 'later'],
    );
    assert.deepStrictEqual(reopenWarnings, []);
    assert.match(warnings.join('\n'), /could not cut a failed write off/);
  });

  describe('folding the journal into a snapshot', () => {
    // Compactions start at 10 journal lines (5 devices: twice the fleet is less). Lines 1-10 (5 devices, state
    // k0-k4) are folded into a first snapshot; k5-k13 follow in the journal, and k14 starts the next compaction.
    async function storeAboutToCompact(): Promise<{ registry: DeviceRegistry; snapshotBefore: Buffer; setState(i: number): Promise<void> }> {
      const registry = await openFaulty(10);
      for (let i = 0; i < 5; i++) await registry.register({ id: `dev-${i}`, attributes: { i, pad: 'x'.repeat(300) } });
      const state = await registry.state('rule:n1');
      const setState = (i: number): Promise<void> => state.set(`k${i}`, { i });
      for (let i = 0; i < 6; i++) await setState(i);
      // k5 was written after the compaction that followed k4 (one write loop), so the snapshot is in place.
      const snapshotBefore = fs.readFileSync(snapshot());
      assert.strictEqual(fs.readFileSync(journal(), 'utf8').split('\n').length, 2, 'the first ten lines were folded into a snapshot');
      for (let i = 6; i < 14; i++) await setState(i);
      return { registry, snapshotBefore, setState };
    }

    async function assertOldKept(registry: DeviceRegistry, snapshotBefore: Buffer, setState: (i: number) => Promise<void>, why: RegExp): Promise<void> {
      assert.match(warnings.join('\n'), why);
      assert.match(warnings.join('\n'), /old snapshot and journal are kept/);
      assert.ok(fs.readFileSync(snapshot()).equals(snapshotBefore), 'the old snapshot is untouched');
      assert.ok(fileSize(journal()) > 0, 'the journal was not truncated');
      assert.strictEqual(fs.existsSync(`${snapshot()}.tmp`), false, 'the partial snapshot is removed');
      faults.spaceLeft = Infinity;
      await setState(20);
      await registry.close();
      const { registry: reopened, warnings: reopenWarnings } = await reopenPlain(dir);
      open.push(reopened);
      assert.strictEqual(reopened.counts().devices, 5);
      const keys = (await reopened.state('rule:n1')).keys();
      const missing = [...Array.from({ length: 15 }, (_, i) => `k${i}`), 'k20'].filter((k) => !keys.includes(k));
      assert.deepStrictEqual(missing, [], 'every acknowledged state change is there');
      assert.deepStrictEqual(reopenWarnings, []);
    }

    it('keeps the old snapshot and journal when the disk fills during the compaction', async () => {
      const { registry, snapshotBefore, setState } = await storeAboutToCompact();
      faults.spaceLeft = 800; // the journal line fits, the ~2.4 KB snapshot does not
      await setState(14);
      // The compaction runs right after that group; the next write waits for it (and fails: the disk is full).
      await setState(1000).catch(() => undefined);
      await assertOldKept(registry, snapshotBefore, setState, /ENOSPC/);
    });

    it('keeps the old snapshot and journal when the rename fails', async () => {
      const { registry, snapshotBefore, setState } = await storeAboutToCompact();
      faults.failures.push({ op: 'rename', code: 'EIO' });
      await setState(14);
      await setState(1000);
      await assertOldKept(registry, snapshotBefore, setState, /EIO/);
    });

    it('does not put a snapshot in place that is shorter on disk than what was written', async () => {
      const { registry, snapshotBefore, setState } = await storeAboutToCompact();
      faults.lyingFor = /snapshot\.json\.tmp$/;
      await setState(14);
      await setState(1000);
      faults.lyingFor = undefined;
      await assertOldKept(registry, snapshotBefore, setState, /incomplete/);
    });
  });
});

/** Mounts a tmpfs of `bytes` at `dir`; says why not if this process may not. */
function mountTmpfs(dir: string, bytes: number): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err).trim() || 'mount failed';
  }
}

describe('file store on a real tmpfs filled to the last byte', function () {
  this.timeout(60_000);
  let dir: string;
  let mounted = false;

  before(function () {
    dir = tempDir('m2m-tmpfs-');
    const why = mountTmpfs(dir, 512 * 1024);
    if (why === undefined) {
      mounted = true;
      return;
    }
    // In CI the runner is root and must run this; elsewhere a user may not mount.
    if (process.env.CI) throw new Error(`CI is set but a tmpfs could not be mounted: ${why}`);
    console.log(`      (skipped: mounting a tmpfs needs root: ${why})`);
    this.skip();
  });
  after(() => {
    if (mounted) execFileSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('acknowledges only whole writes while the disk is full, keeps every acknowledged one, and works once space returns', async () => {
    const store = path.join(dir, 'store');
    const filler = path.join(dir, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(64 * 1024)); // freed later, as an operator would free space
    const warnings: string[] = [];
    const registry = await openRegistry({ name: 'tmpfs', store: { kind: 'file', dir: store, compactAfter: 50 }, warn: (m) => warnings.push(m) });
    const acked = new Set<string>();
    const failed = new Set<string>();
    /** The tags of the last acknowledged update of each device. */
    const updated = new Map<string, string[]>();
    let failedWrites = 0;
    const settle = (results: Array<PromiseSettledResult<unknown>>, onAck: (i: number) => void, onFail: (i: number) => void): void =>
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') return onAck(i);
        assert.strictEqual((r.reason as { code?: string }).code, 'STORE_WRITE_FAILED');
        failedWrites++;
        onFail(i);
      });
    // 3 KB devices, so that folding ~60 of them into a new snapshot (while the old one and the journal are still
    // there) meets the full disk as well as the journal writes do. Registrations and updates go on a while
    // after writes start failing.
    const pad = 'p'.repeat(3000);
    for (let round = 0; failedWrites < 200 && round < 400; round++) {
      const ids = [`d-${round}-a`, `d-${round}-b`];
      const registered = await Promise.allSettled(ids.map((id) => registry.register({ id, attributes: { pad } })));
      settle(
        registered,
        (i) => acked.add(ids[i]),
        (i) => failed.add(ids[i]),
      );
      const toUpdate = [...acked].slice(-10);
      const tags = [`round-${round}`];
      const updates = await Promise.allSettled(toUpdate.map((id) => registry.update(id, { tags })));
      settle(
        updates,
        (i) => updated.set(toUpdate[i], tags),
        () => undefined,
      );
    }
    assert.ok(failedWrites >= 200, `the disk filled up (${acked.size} registrations and ${updated.size} updates acknowledged)`);
    fs.rmSync(filler);
    const afterSpace = Array.from({ length: 50 }, (_, i) => `after-${i}`);
    await Promise.all(afterSpace.map((id) => registry.register({ id })));
    await registry.close();

    const reopenWarnings: string[] = [];
    const reopened = await openRegistry({ name: 'tmpfs', store: { kind: 'file', dir: store }, warn: (m) => reopenWarnings.push(m) });
    try {
      const missing = [...acked, ...afterSpace].filter((id) => !reopened.has(id));
      assert.deepStrictEqual(missing, [], 'every acknowledged registration is there');
      const resurrected = [...failed].filter((id) => reopened.has(id));
      assert.deepStrictEqual(resurrected, [], 'nothing refused comes back');
      const staleUpdates = [...updated].filter(([id, tags]) => reopened.get(id)?.tags.join() !== tags.join());
      assert.deepStrictEqual(staleUpdates, [], 'every device has its last acknowledged update');
      assert.match(warnings.join('\n'), /could not fold the journal into a snapshot \(the old snapshot and journal are kept\).*ENOSPC/);
      assert.deepStrictEqual(reopenWarnings, [], 'no torn or glued record in the journal');
    } finally {
      await reopened.close();
    }
  });
});
