// The rows a dashboard widget shows (active alarms, devices), kept on the server, and what changed since the
// browsers were last told: a browser gets the whole list once (a snapshot) and then only the rows that changed
// (a delta), coalesced, so 1,000 alarm transitions a second cost each browser a few small messages.

export interface BoardSnapshot<T> {
  kind: 'snapshot';
  items: T[];
  /** Rows refused because the board was full. */
  dropped: number;
}

export interface BoardDelta<T> {
  kind: 'delta';
  upsert: T[];
  remove: string[];
  dropped: number;
}

export class Board<T extends { key: string }> {
  private readonly rows = new Map<string, T>();
  private readonly changed = new Set<string>();
  private droppedCount = 0;

  /** At most `capacity` rows: the board's memory is bounded whatever the flow sends it. */
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.rows.size;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  get(key: string): T | undefined {
    return this.rows.get(key);
  }

  values(): IterableIterator<T> {
    return this.rows.values();
  }

  /** Adds or replaces a row; false when the board is full and the row is new. */
  put(row: T): boolean {
    if (!this.rows.has(row.key) && this.rows.size >= this.capacity) {
      this.droppedCount++;
      return false;
    }
    this.rows.set(row.key, row);
    this.changed.add(row.key);
    return true;
  }

  delete(key: string): boolean {
    if (!this.rows.delete(key)) return false;
    this.changed.add(key);
    return true;
  }

  clear(): void {
    for (const key of this.rows.keys()) this.changed.add(key);
    this.rows.clear();
  }

  hasChanges(): boolean {
    return this.changed.size > 0;
  }

  snapshot(): BoardSnapshot<T> {
    return { kind: 'snapshot', items: [...this.rows.values()], dropped: this.droppedCount };
  }

  /** The rows changed since the last call, then forgets them. */
  takeDelta(): BoardDelta<T> {
    const upsert: T[] = [];
    const remove: string[] = [];
    for (const key of this.changed) {
      const row = this.rows.get(key);
      if (row) upsert.push(row);
      else remove.push(key);
    }
    this.changed.clear();
    return { kind: 'delta', upsert, remove, dropped: this.droppedCount };
  }
}
