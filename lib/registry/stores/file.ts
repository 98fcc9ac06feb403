import path from 'path';
import { M2MError, errorMessage } from '../../errors';
import { nodeFs, readChunks, writeFully, type StoreFileHandle, type StoreFs } from './file/fs-layer';
import { replayJournal, type JournalRead } from './file/journal';
import { frame } from './file/frame';
import { applyOp, type StoreData, type StoreOp } from './file/ops';
import { Rejects, quarantine, type Rejected } from './file/rejects';
import { DEFAULT_CHUNK_BYTES, readLegacySnapshot, readSnapshot, snapshotOps, writeSnapshot, type SnapshotWritten } from './file/snapshot';
import type { LoadedData, RegistryStore, StoredDevice, StoreWarning } from './types';

export type { StoreFs, StoreFileHandle } from './file/fs-layer';

/** What the registry holds now, read when the journal is folded into a new snapshot. */
export interface SnapshotSource {
  deviceCount(): number;
  snapshot(): { devices: StoredDevice[]; state: Map<string, Map<string, unknown>> };
}

export interface FileStoreOptions {
  dir: string;
  warn?: StoreWarning;
  /** How often batched last-seen times are journalled (ms). */
  seenFlushMs?: number;
  /** Fold the journal into a snapshot after this many lines (at least; grows with the fleet). */
  compactAfter?: number;
  /** The file operations (tests inject short writes, ENOSPC and EIO here). */
  fs?: StoreFs;
  /** Read and write size for the snapshot and the journal. */
  chunkBytes?: number;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

const OPEN_BRACE = 0x7b;

/**
 * Journal plus snapshot. Every change is appended to `journal.log` as a checksummed line and fsynced before its
 * promise resolves; changes arriving while a write is in flight are grouped into the next write, so one fsync
 * serves many. A group that cannot be written whole (short write, ENOSPC, EIO) fails as a whole and is cut
 * back off the journal, so the next group is never glued onto a torn one. The journal is folded into
 * `snapshot.json` (streamed, one record per line) by writing a temp file, fsyncing it, checking its length and
 * trailer, and renaming it; only then is the journal truncated. Replaying the journal is idempotent, so a crash
 * at any step loses nothing acknowledged. Unreadable records are kept aside in `rejected-<time>.jsonl`.
 */
export class FileStore implements RegistryStore {
  readonly kind = 'file';
  private readonly journalPath: string;
  private readonly snapshotPath: string;
  private readonly tmpPath: string;
  private readonly warn: StoreWarning;
  private readonly compactAfter: number;
  private readonly fs: StoreFs;
  private readonly chunkBytes: number;
  private journal: StoreFileHandle | undefined;
  /** Bytes of whole, acknowledged records; the next group is written here. */
  private journalSize = 0;
  /** Bytes past `journalSize` may be on disk (a failed group) and must be cut before anything else is written. */
  private journalDirty = false;
  /** Written before the next group: ends a torn line that could not be kept aside, so nothing is glued to it. */
  private separator = '';
  /** Records found unreadable at load that could not be kept aside yet; the journal is not truncated until they are. */
  private unkept: Rejected[] = [];
  /** Where an unreadable single-JSON snapshot found at load is to be moved. */
  private unreadableSnapshot: string | undefined;
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private writing: Promise<void> | undefined;
  private journalLines = 0;
  /** After a failed compaction, wait for this many journal lines before trying again (a full disk stays full). */
  private compactNotBefore = 0;
  private readonly dirtySeen = new Map<string, number>();
  private seenTimer: NodeJS.Timeout | undefined;
  private source: SnapshotSource | undefined;
  private closed = false;

  constructor(private readonly options: FileStoreOptions) {
    this.journalPath = path.join(options.dir, 'journal.log');
    // The streamed snapshot keeps the first release's file name on purpose: that release then refuses it as
    // not JSON instead of opening a stale single-JSON snapshot beside a journal it cannot read.
    this.snapshotPath = path.join(options.dir, 'snapshot.json');
    this.tmpPath = `${this.snapshotPath}.tmp`;
    this.warn = options.warn ?? (() => undefined);
    this.compactAfter = options.compactAfter ?? 20_000;
    this.fs = options.fs ?? nodeFs;
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  }

  setSnapshotSource(source: SnapshotSource): void {
    this.source = source;
  }

  async load(): Promise<LoadedData> {
    await this.fs.mkdir(this.options.dir);
    const data: StoreData = { devices: new Map(), state: new Map() };
    const rejects = new Rejects();
    const snapshotProblems = await this.readSnapshot(data, rejects);
    const journal = await this.readJournal(data, rejects);
    // A torn last write is what a crash leaves; anything else is damage worth rewriting the store for.
    const damaged = rejects.size > (journal.tail ? 1 : 0) || snapshotProblems.length > 0;
    // Nothing on disk has been changed until here, so a store from a newer release was refused untouched.
    await this.fs.remove(this.tmpPath);
    await this.moveUnreadableSnapshot();
    const keptIn = await this.keepAside(rejects.items);
    for (const line of rejects.summary(keptIn)) this.warn(line);
    for (const problem of snapshotProblems) this.warn(`${this.snapshotPath}: ${problem}`);

    this.journal = await this.fs.openWrite(this.journalPath, false);
    this.journalLines = journal.records;
    this.journalSize = journal.bytes;
    if (journal.tail) {
      if (keptIn) {
        // A torn last write was never acknowledged; it is kept aside, so cut it off.
        this.journalSize = journal.wholeBytes;
        this.journalDirty = true;
        await this.cutJournal().catch((err) => this.warn(`could not cut a torn record off ${this.journalPath}: ${errorMessage(err)}`));
      } else {
        this.separator = '\n';
      }
    }
    await this.fs.syncDir(this.options.dir);
    if (damaged) {
      // Rewrite the store without the damage, so the same records are not reported on every start.
      await this.replaceSnapshot(snapshotOps(data.devices.values(), entriesOf(data.state))).catch((err) =>
        this.warn(`could not rewrite the snapshot after skipping damaged records: ${errorMessage(err)}`),
      );
    }
    const every = this.options.seenFlushMs ?? 5000;
    this.seenTimer = setInterval(() => this.flushSeen(), every);
    this.seenTimer.unref();
    return { devices: [...data.devices.values()], state: data.state };
  }

  putDevice(device: StoredDevice): Promise<void> {
    return this.append({ o: 'p', d: device });
  }
  deleteDevice(id: string): Promise<void> {
    this.dirtySeen.delete(id);
    return this.append({ o: 'd', i: id });
  }
  putState(namespace: string, key: string, value: unknown): Promise<void> {
    return this.append({ o: 'sp', n: namespace, k: key, v: value });
  }
  deleteState(namespace: string, key: string): Promise<void> {
    return this.append({ o: 'sd', n: namespace, k: key });
  }
  recordSeen(id: string, lastSeen: number): void {
    this.dirtySeen.set(id, lastSeen);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.seenTimer) clearInterval(this.seenTimer);
    this.flushSeen();
    this.closed = true;
    await this.drain();
    await this.journal?.close();
    this.journal = undefined;
  }

  private flushSeen(): void {
    if (this.dirtySeen.size === 0 || this.closed) return;
    const seen = [...this.dirtySeen];
    this.dirtySeen.clear();
    this.append({ o: 's', s: seen }).catch((err) => {
      // Best effort, but a full disk should not forget them: they go out with the next flush.
      for (const [id, at] of seen) if (!this.dirtySeen.has(id)) this.dirtySeen.set(id, at);
      this.warn(`could not journal last-seen times: ${errorMessage(err)}`);
    });
  }

  private append(op: StoreOp): Promise<void> {
    if (this.closed) return Promise.reject(new M2MError('STORE_CLOSED', 'the registry store is closed'));
    this.pending.push(frame(JSON.stringify(op)).line);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.writing) this.writing = this.writeLoop();
    return done;
  }

  /** Writes what is pending, one fsync per group, until nothing is left; folds the journal when it is long. */
  private async writeLoop(): Promise<void> {
    // Let the current tick's appends join this group.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const lines = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        await this.writeGroup(lines);
        for (const w of waiters) w.resolve();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const error =
          err instanceof M2MError && err.code === 'STORE_CLOSED'
            ? err
            : new M2MError('STORE_WRITE_FAILED', `could not write the registry journal, nothing of this write was stored: ${errorMessage(err)}`, {
                cause: err,
                details: { code },
              });
        for (const w of waiters) w.reject(error);
      }
      if (this.shouldCompact()) {
        await this.compact().catch((err) => {
          this.compactNotBefore = this.journalLines + this.compactThreshold();
          this.warn(`could not fold the journal into a snapshot (the old snapshot and journal are kept): ${errorMessage(err)}`);
        });
      }
    }
    this.writing = undefined;
  }

  /** Writes one group whole and fsyncs it, or cuts whatever part of it reached the file back off and throws. */
  private async writeGroup(lines: string[]): Promise<void> {
    const handle = this.journal;
    if (!handle) throw new M2MError('STORE_CLOSED', 'the registry store is not open');
    if (this.journalDirty) await this.cutJournal();
    const data = Buffer.from(this.separator + lines.join(''), 'utf8');
    this.journalDirty = true;
    try {
      await writeFully(handle, data, this.journalSize);
      await handle.datasync();
    } catch (err) {
      await this.cutJournal().catch((cutErr) =>
        this.warn(`could not cut a failed write off ${this.journalPath} (tried again before the next write): ${errorMessage(cutErr)}`),
      );
      throw err;
    }
    this.journalSize += data.length;
    this.journalDirty = false;
    this.separator = '';
    this.journalLines += lines.length;
  }

  /** Cuts the journal back to its whole records, durably. */
  private async cutJournal(): Promise<void> {
    if (!this.journal) return;
    await this.journal.truncate(this.journalSize);
    await this.journal.datasync();
    this.journalDirty = false;
  }

  private async drain(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private compactThreshold(): number {
    return Math.max(this.compactAfter, 2 * (this.source?.deviceCount() ?? 0));
  }

  private shouldCompact(): boolean {
    if (!this.source) return false;
    return this.journalLines >= Math.max(this.compactThreshold(), this.compactNotBefore);
  }

  private async compact(): Promise<void> {
    if (!this.source) return;
    const { devices, state } = this.source.snapshot();
    await this.replaceSnapshot(snapshotOps(devices, entriesOf(state)));
  }

  /**
   * Writes a new snapshot beside the old one, fsyncs it, checks that all of it is there, renames it into place,
   * and only then empties the journal. Any failure leaves the old snapshot and journal as they were.
   */
  private async replaceSnapshot(ops: Iterable<StoreOp>): Promise<void> {
    const journal = this.journal;
    if (!journal) return;
    if (this.unkept.length > 0) {
      // The journal is about to be emptied: records that could not be kept aside at load must be first.
      await this.keepAsideOrThrow();
    }
    const handle = await this.fs.openWrite(this.tmpPath, true);
    try {
      let position = 0;
      const written = await writeSnapshot(
        ops,
        {
          write: async (chunk) => {
            await writeFully(handle, chunk, position);
            position += chunk.length;
          },
        },
        { chunkBytes: this.chunkBytes },
      );
      await handle.sync();
      await verifyWritten(handle, written, this.tmpPath);
      await handle.close();
    } catch (err) {
      await handle.close().catch(() => undefined);
      await this.fs.remove(this.tmpPath).catch(() => undefined);
      throw err;
    }
    try {
      await this.fs.rename(this.tmpPath, this.snapshotPath);
    } catch (err) {
      await this.fs.remove(this.tmpPath).catch(() => undefined);
      throw err;
    }
    await this.fs.syncDir(this.options.dir);
    // The new snapshot is whole and in place and holds every record of the journal: now the journal may go.
    // (If this fails, replaying the journal over the new snapshot again is harmless.)
    this.journalSize = 0;
    this.journalDirty = true;
    this.separator = '';
    await this.cutJournal();
    this.journalLines = 0;
  }

  /** Reads the snapshot into `data`; returns what is wrong with it as a whole. Throws STORE_TOO_NEW. */
  private async readSnapshot(data: StoreData, rejects: Rejects): Promise<string[]> {
    const handle = await this.fs.openRead(this.snapshotPath);
    if (!handle) return [];
    const name = path.basename(this.snapshotPath);
    try {
      const first = Buffer.alloc(1);
      const { bytesRead } = await handle.read(first, 0, 1, 0);
      if (bytesRead === 0) return ['it is empty'];
      const apply = (op: StoreOp): void => applyOp(op, data);
      if (first[0] === OPEN_BRACE) return await this.readLegacySnapshot(handle, apply, rejects);
      const read = await readSnapshot(readChunks(handle, this.chunkBytes), apply, { file: this.snapshotPath, rejects });
      if (read.tail) rejects.add(name, read.tail, read.tail.start, read.tail.end, 'a last line cut short');
      return read.problems;
    } finally {
      await handle.close();
    }
  }

  /** The first release's single-JSON snapshot (bounded by the string it was written from). */
  private async readLegacySnapshot(handle: StoreFileHandle, apply: (op: StoreOp) => void, rejects: Rejects): Promise<string[]> {
    const name = path.basename(this.snapshotPath);
    const parts: Buffer[] = [];
    for await (const chunk of readChunks(handle, this.chunkBytes)) parts.push(chunk);
    const text = Buffer.concat(parts).toString('utf8');
    try {
      readLegacySnapshot(text, apply, (value, reason) => rejects.addValue(name, value, reason), this.snapshotPath);
      return [];
    } catch (err) {
      if (err instanceof M2MError) throw err;
      // Unreadable as a whole: it is moved aside (never deleted) once the journal has been read too.
      this.unreadableSnapshot = path.join(this.options.dir, `rejected-${stamp()}-snapshot.json`);
      return [`it is not valid JSON (${errorMessage(err)}); moved to ${path.basename(this.unreadableSnapshot)}, the store opened with the journal alone`];
    }
  }

  /** Moves an unreadable first-release snapshot aside, so that the next snapshot does not replace it. */
  private async moveUnreadableSnapshot(): Promise<void> {
    const aside = this.unreadableSnapshot;
    if (!aside) return;
    await this.fs.rename(this.snapshotPath, aside).catch((err) => {
      throw new M2MError('STORE_CORRUPT', `${this.snapshotPath} is not valid JSON and could not be moved aside: ${errorMessage(err)}`);
    });
    this.unreadableSnapshot = undefined;
  }

  private async readJournal(data: StoreData, rejects: Rejects): Promise<JournalRead> {
    const handle = await this.fs.openRead(this.journalPath);
    if (!handle) return { records: 0, bytes: 0, wholeBytes: 0 };
    try {
      const read = await replayJournal(readChunks(handle, this.chunkBytes), data, { file: this.journalPath, rejects });
      if (read.tail) rejects.add(path.basename(this.journalPath), read.tail, read.tail.start, read.tail.end, 'a torn last record (never acknowledged)');
      return read;
    } finally {
      await handle.close();
    }
  }

  /** Keeps rejected records in a quarantine file; says where, or undefined if that failed (they are retried). */
  private async keepAside(items: Rejected[]): Promise<string | undefined> {
    if (items.length === 0) return undefined;
    try {
      return await quarantine(this.fs, this.options.dir, items);
    } catch (err) {
      this.unkept = items;
      this.warn(`could not keep ${items.length} unreadable records aside: ${errorMessage(err)}`);
      return undefined;
    }
  }

  private async keepAsideOrThrow(): Promise<void> {
    const file = await quarantine(this.fs, this.options.dir, this.unkept);
    this.warn(`kept ${this.unkept.length} unreadable records aside in ${path.basename(file)}`);
    this.unkept = [];
  }
}

function* entriesOf(state: Map<string, Map<string, unknown>>): Generator<[string, Iterable<[string, unknown]>]> {
  for (const [namespace, entries] of state) yield [namespace, entries.entries()];
}

/** Checks that the file on disk is exactly as long as what was written and ends with the trailer written. */
async function verifyWritten(handle: StoreFileHandle, written: SnapshotWritten, file: string): Promise<void> {
  const { size } = await handle.stat();
  const end = Buffer.alloc(written.trailer.length);
  const { bytesRead } = size >= end.length ? await handle.read(end, 0, end.length, size - end.length) : { bytesRead: 0 };
  if (size !== written.bytes || bytesRead !== end.length || !end.equals(written.trailer)) {
    throw new M2MError('STORE_WRITE_FAILED', `the new snapshot ${file} is incomplete (${size} of ${written.bytes} bytes on disk); the old one is kept`);
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}
