// Per-device data kept beside the alarm table (windows, last known values): the table tells each store when it
// grows, when a device's slot is freed, and when it moves devices to the front of a smaller table.
export interface SlotStore {
  /** room for this many device slots; the new ones start empty */
  resize(slots: number): void;
  clear(slot: number): void;
  /** rebuilds the store for `slots` slots with each pair's data moved from its old slot to its new one */
  compact(moves: ReadonlyArray<readonly [number, number]>, slots: number): void;
}

/** A Float64 block of `stride` numbers per slot, NaN when empty. */
export class FloatSlots implements SlotStore {
  data = new Float64Array(0);
  constructor(readonly stride: number) {}

  resize(slots: number): void {
    const next = new Float64Array(slots * this.stride).fill(NaN);
    next.set(this.data.subarray(0, Math.min(this.data.length, next.length)));
    this.data = next;
  }

  clear(slot: number): void {
    this.data.fill(NaN, slot * this.stride, (slot + 1) * this.stride);
  }

  compact(moves: ReadonlyArray<readonly [number, number]>, slots: number): void {
    const old = this.data;
    this.data = new Float64Array(0);
    this.resize(slots);
    const n = this.stride;
    for (const [from, to] of moves) this.data.set(old.subarray(from * n, from * n + n), to * n);
  }
}
