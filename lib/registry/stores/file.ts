import { promises as fsp } from 'fs';
import path from 'path';
import { M2MError, errorMessage } from '../../errors';
import type { LoadedData, RegistryStore, StoredDevice, StoreWarning } from './types';

/** One journal line. Short keys: the journal is written at tens of thousands of lines a second. */
type JournalOp =
  | { o: 'p'; d: StoredDevice }
  | { o: 'd'; i: string }
  | { o: 'sp'; n: string; k: string; v: unknown }
  | { o: 'sd'; n: string; k: string }
  | { o: 's'; s: Array<[string, number]> };

interface Snapshot {
  version: 1;
  devices: StoredDevice[];
  state: Record<string, Record<string, unknown>>;
}

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
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Journal plus snapshot. Every change is appended to `journal.log` and fsynced before its promise resolves;
 * changes arriving while a write is in flight are grouped into the next write, so one fsync serves many.
 * The journal is folded into `snapshot.json` by writing a temp file, fsyncing and renaming it, so the
 * snapshot is always whole. Replaying the journal is idempotent, so a crash at any step loses nothing
 * that was acknowledged; a torn last line is skipped with a warning and cut off.
 */
export class FileStore implements RegistryStore {
  readonly kind = 'file';
  private readonly journalPath: string;
  private readonly snapshotPath: string;
  private readonly warn: StoreWarning;
  private readonly compactAfter: number;
  private journal: fsp.FileHandle | undefined;
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private writing: Promise<void> | undefined;
  private journalLines = 0;
  private readonly dirtySeen = new Map<string, number>();
  private seenTimer: NodeJS.Timeout | undefined;
  private source: SnapshotSource | undefined;
  private closed = false;

  constructor(private readonly options: FileStoreOptions) {
    this.journalPath = path.join(options.dir, 'journal.log');
    this.snapshotPath = path.join(options.dir, 'snapshot.json');
    this.warn = options.warn ?? (() => undefined);
    this.compactAfter = options.compactAfter ?? 20_000;
  }

  setSnapshotSource(source: SnapshotSource): void {
    this.source = source;
  }

  async load(): Promise<LoadedData> {
    await fsp.mkdir(this.options.dir, { recursive: true });
    await fsp.rm(`${this.snapshotPath}.tmp`, { force: true });
    const devices = new Map<string, StoredDevice>();
    const state = new Map<string, Map<string, unknown>>();
    const snapshot = await this.readSnapshot();
    for (const device of snapshot.devices) devices.set(device.id, device);
    for (const [namespace, entries] of Object.entries(snapshot.state)) {
      state.set(namespace, new Map(Object.entries(entries)));
    }
    await this.replayJournal(devices, state);
    this.journal = await fsp.open(this.journalPath, 'a');
    await syncDir(this.options.dir);
    const every = this.options.seenFlushMs ?? 5000;
    this.seenTimer = setInterval(() => this.flushSeen(), every);
    this.seenTimer.unref();
    return { devices: [...devices.values()], state };
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
    this.append({ o: 's', s: seen }).catch((err) => this.warn(`could not journal last-seen times: ${errorMessage(err)}`));
  }

  private append(op: JournalOp): Promise<void> {
    if (this.closed) return Promise.reject(new M2MError('STORE_CLOSED', 'the registry store is closed'));
    this.pending.push(`${JSON.stringify(op)}\n`);
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
        const handle = this.journal;
        if (!handle) throw new M2MError('STORE_CLOSED', 'the registry store is not open');
        await handle.write(lines.join(''));
        await handle.datasync();
        this.journalLines += lines.length;
        for (const w of waiters) w.resolve();
      } catch (err) {
        const error = new M2MError('STORE_WRITE_FAILED', `could not write the registry journal: ${errorMessage(err)}`, { cause: err });
        for (const w of waiters) w.reject(error);
      }
      if (this.shouldCompact()) {
        await this.compact().catch((err) => this.warn(`could not fold the journal into a snapshot: ${errorMessage(err)}`));
      }
    }
    this.writing = undefined;
  }

  private async drain(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private shouldCompact(): boolean {
    if (!this.source) return false;
    return this.journalLines >= Math.max(this.compactAfter, 2 * this.source.deviceCount());
  }

  private async compact(): Promise<void> {
    if (!this.source || !this.journal) return;
    const { devices, state } = this.source.snapshot();
    const snapshot: Snapshot = { version: 1, devices, state: {} };
    for (const [namespace, entries] of state) snapshot.state[namespace] = Object.fromEntries(entries);
    const tmp = `${this.snapshotPath}.tmp`;
    const handle = await fsp.open(tmp, 'w');
    try {
      await handle.write(JSON.stringify(snapshot));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, this.snapshotPath);
    await syncDir(this.options.dir);
    // Every change in the journal is also in the snapshot now; replaying it again would be harmless.
    await this.journal.truncate(0);
    await this.journal.sync();
    this.journalLines = 0;
  }

  private async readSnapshot(): Promise<Snapshot> {
    let text: string;
    try {
      text = await fsp.readFile(this.snapshotPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, devices: [], state: {} };
      throw err;
    }
    try {
      return JSON.parse(text) as Snapshot;
    } catch (err) {
      throw new M2MError('STORE_CORRUPT', `${this.snapshotPath} is not valid JSON: ${errorMessage(err)}`);
    }
  }

  private async replayJournal(devices: Map<string, StoredDevice>, state: Map<string, Map<string, unknown>>): Promise<void> {
    let data: Buffer;
    try {
      data = await fsp.readFile(this.journalPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let start = 0;
    let lines = 0;
    while (start < data.length) {
      const end = data.indexOf(0x0a, start);
      if (end === -1) {
        this.warn(`skipped a torn last record in ${this.journalPath} (${data.length - start} bytes after a crash)`);
        await fsp.truncate(this.journalPath, start);
        break;
      }
      const line = data.toString('utf8', start, end);
      start = end + 1;
      if (line.length === 0) continue;
      let op: JournalOp;
      try {
        op = JSON.parse(line) as JournalOp;
      } catch {
        this.warn(`skipped an unreadable record in ${this.journalPath}`);
        continue;
      }
      applyOp(op, devices, state);
      lines++;
    }
    this.journalLines = lines;
  }
}

function applyOp(op: JournalOp, devices: Map<string, StoredDevice>, state: Map<string, Map<string, unknown>>): void {
  switch (op.o) {
    case 'p':
      devices.set(op.d.id, op.d);
      break;
    case 'd':
      devices.delete(op.i);
      break;
    case 'sp': {
      let entries = state.get(op.n);
      if (!entries) state.set(op.n, (entries = new Map()));
      entries.set(op.k, op.v);
      break;
    }
    case 'sd':
      state.get(op.n)?.delete(op.k);
      break;
    case 's':
      for (const [id, seen] of op.s) {
        const device = devices.get(id);
        if (device && (device.lastSeen ?? 0) < seen) device.lastSeen = seen;
      }
      break;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
