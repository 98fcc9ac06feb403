// Keeps the engine's alarm state in a key/value backend (the registry's StateMap or a Node-RED context store):
// one key per device, written in a batch after the transitions of a tick, and everything on close.
import { errorMessage } from '../errors';
import type { RuleEngine } from './engine';

export interface StateBackend {
  get(key: string): unknown;
  set(key: string, value: unknown): void | Promise<void>;
  delete(key: string): void | Promise<void>;
  keys(): string[];
}

const DEVICE_PREFIX = 'd:';
const META_KEY = 'meta';

interface Meta {
  v: 1;
  /** the state was saved by a clean close, so last-seen times are exact */
  clean: boolean;
}

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

  /** Restores every saved device into the engine; returns how many. */
  load(engine: RuleEngine): number {
    this.engine = engine;
    const meta = this.backend.get(META_KEY) as Partial<Meta> | undefined;
    const clean = meta?.clean === true;
    let restored = 0;
    for (const key of this.backend.keys()) {
      if (!key.startsWith(DEVICE_PREFIX)) continue;
      const id = key.slice(DEVICE_PREFIX.length);
      engine.restore(id, this.backend.get(key), clean);
      restored++;
    }
    // until the next clean close, a crash leaves last-seen times behind
    this.write(META_KEY, { v: 1, clean: false } satisfies Meta);
    return restored;
  }

  /** Writes the devices changed since the last flush. */
  flush(): void {
    this.flushQueued = false;
    const engine = this.engine;
    if (!engine) return;
    for (const id of this.dirty) {
      const snapshot = engine.snapshot(id);
      if (snapshot) this.write(DEVICE_PREFIX + id, snapshot);
      else this.remove(DEVICE_PREFIX + id);
    }
    this.dirty.clear();
  }

  /** Saves everything (with exact last-seen times) and resolves once the backend has it. */
  async close(): Promise<void> {
    const engine = this.engine;
    if (engine) {
      for (const id of engine.persistedDevices()) this.dirty.add(id);
      this.flush();
      this.write(META_KEY, { v: 1, clean: true } satisfies Meta);
    }
    const writes = this.writes;
    this.writes = [];
    await Promise.all(writes);
  }

  /** Deletes every saved key (the node was deleted). */
  async clear(): Promise<void> {
    this.dirty.clear();
    for (const key of this.backend.keys()) this.remove(key);
    const writes = this.writes;
    this.writes = [];
    await Promise.all(writes);
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
