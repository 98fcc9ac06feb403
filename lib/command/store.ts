import type { CommandStore } from './types';

// Without a registry the commands of a node are kept in process memory, keyed by node id: they survive a
// redeploy (the node is rebuilt with the same id) but not a restart of Node-RED.
const byNode = new Map<string, Map<string, unknown>>();

export class MemoryCommandStore implements CommandStore {
  private readonly entries: Map<string, unknown>;

  constructor(key?: string) {
    let entries = key === undefined ? undefined : byNode.get(key);
    if (!entries) {
      entries = new Map();
      if (key !== undefined) byNode.set(key, entries);
    }
    this.entries = entries;
  }

  /** Drops what a removed node kept. */
  static forget(key: string): void {
    byNode.delete(key);
  }

  get(key: string): unknown {
    return this.entries.get(key);
  }

  set(key: string, value: unknown): Promise<void> {
    this.entries.set(key, value);
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.entries.delete(key);
    return Promise.resolve();
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }
}
