// Keeps the engine's alarm state in a key/value backend (the registry's StateMap, or a rule node's kept state):
// one key per device, written in a batch after the transitions of a tick, and everything on close. Records carry
// a format version (state-format.ts); older ones are stepped up on load, newer ones refuse to load.
import { errorMessage } from '../errors';
import type { RuleEngine } from './engine';
import { deviceRecord, metaRecord, readDevice, readMeta } from './state-format';

export interface StateBackend {
  get(key: string): unknown;
  set(key: string, value: unknown): void | Promise<void>;
  delete(key: string): void | Promise<void>;
  keys(): string[];
  /** Called after each batch of sets and deletes, e.g. to write the whole state out at once. */
  commit?(): void | Promise<void>;
}

const DEVICE_PREFIX = 'd:';
const META_KEY = 'meta';

export class RulePersistence {
  private readonly dirty = new Set<string>();
  private flushQueued = false;
  private writes: Array<Promise<void>> = [];
  private engine: RuleEngine | undefined;

  constructor(
    private readonly backend: StateBackend,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  /** For EngineOptions.onChange. */
  readonly changed = (deviceId: string): void => {
    this.dirty.add(deviceId);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => this.flush());
    }
  };

  /**
   * Restores every saved device into the engine; returns how many. Throws STORE_TOO_NEW (restoring nothing, and
   * never writing over that state later) when the state was written by a newer version of the pack. A record it
   * cannot read is reported and left in place.
   */
  load(engine: RuleEngine): number {
    const { clean } = readMeta(this.backend.get(META_KEY));
    const devices: Array<[string, ReturnType<typeof readDevice>]> = [];
    for (const key of this.backend.keys()) {
      if (key.startsWith(DEVICE_PREFIX)) devices.push([key.slice(DEVICE_PREFIX.length), readDevice(key, this.backend.get(key))]);
    }
    this.engine = engine;
    const unreadable: string[] = [];
    let restored = 0;
    for (const [id, read] of devices) {
      if ('unreadable' in read) {
        unreadable.push(`${id} (${read.unreadable})`);
        continue;
      }
      engine.restore(id, read.alarms, clean, read.series);
      if (read.steppedUp) this.dirty.add(id);
      restored++;
    }
    if (unreadable.length)
      this.warn(`alarm state of ${unreadable.length} device(s) could not be read and is left as it is: ${unreadable.slice(0, 5).join(', ')}`);
    // until the next clean close, a crash leaves last-seen times behind
    this.write(META_KEY, metaRecord(false));
    this.flush();
    return restored;
  }

  /** Writes the devices changed since the last flush. */
  flush(): void {
    this.flushQueued = false;
    const engine = this.engine;
    if (!engine) return;
    for (const id of this.dirty) {
      const alarms = engine.snapshot(id);
      const series = engine.series(id);
      if (alarms || series.windows || series.last) this.write(DEVICE_PREFIX + id, deviceRecord(alarms ?? [], series));
      else this.remove(DEVICE_PREFIX + id);
    }
    this.dirty.clear();
    this.commit();
  }

  /** Saves everything (with exact last-seen times) and resolves once the backend has it. Nothing if never loaded. */
  async close(): Promise<void> {
    const engine = this.engine;
    if (engine) {
      for (const id of engine.persistedDevices()) this.dirty.add(id);
      this.write(META_KEY, metaRecord(true));
      this.flush();
    }
    await this.settle();
  }

  /** Deletes every saved key (the node was deleted). */
  async clear(): Promise<void> {
    this.dirty.clear();
    this.engine = undefined;
    for (const key of this.backend.keys()) this.remove(key);
    this.commit();
    await this.settle();
  }

  private async settle(): Promise<void> {
    const writes = this.writes;
    this.writes = [];
    await Promise.all(writes);
  }

  private commit(): void {
    if (this.backend.commit) this.track(() => this.backend.commit?.(), 'commit');
  }

  private write(key: string, value: unknown): void {
    this.track(() => this.backend.set(key, value), key);
  }

  private remove(key: string): void {
    this.track(() => this.backend.delete(key), key);
  }

  private track(op: () => void | Promise<void>, key: string): void {
    try {
      const result = op();
      if (result && typeof result.then === 'function') {
        const p = result.catch((err: unknown) => this.warn(`saving alarm state ${key}: ${errorMessage(err)}`));
        this.writes.push(p);
        if (this.writes.length > 1000) this.writes = [Promise.all(this.writes).then(() => undefined)];
      }
    } catch (err) {
      this.warn(`saving alarm state ${key}: ${errorMessage(err)}`);
    }
  }
}
