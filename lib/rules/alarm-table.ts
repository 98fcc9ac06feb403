// The alarm table: one slot per device, and per device-rule typed-array columns indexed by
// key = slot * ruleCount + ruleIndex, so that a device-rule costs about 80 bytes and a sample that changes nothing
// allocates nothing. It grows by doubling, forgets the least recently seen quiet devices at its cap, and shrinks
// when mostly free so that memory follows the fleet down. What the columns mean is the transitions' business.
import { M2MError } from '../errors';
import { PERSISTED } from './alarm-flags';
import type { SlotStore } from './slot-store';

/** The table never shrinks below this many device slots. */
const MIN_SLOTS = 64;

/** The columns of one float per device-rule (NaN: unset). */
const FLOAT_COLUMNS = ['deadline', 'raisedAt', 'value', 'thrLo', 'thrHi', 'shelvedUntil', 'seenAt', 'prevTs', 'remindAt', 'scheduledAt'] as const;
/** A compaction drops every timer entry, so scheduledAt starts afresh rather than being carried over. */
const CARRIED_FLOAT_COLUMNS = FLOAT_COLUMNS.filter((column) => column !== 'scheduledAt');

export class AlarmTable {
  readonly slotOf = new Map<string, number>();
  /** the device id of each slot; undefined for a free one */
  ids: Array<string | undefined> = [];
  private freeSlots: number[] = [];
  capacity = 0;
  /** per slot: when the device last sent a sample a rule used */
  lastSeen = new Float64Array(0);
  flags = new Uint16Array(0);
  /** samples in a row that met the raise condition */
  count = new Uint16Array(0);
  /** when a pending raise or clear is due */
  deadline = new Float64Array(0);
  raisedAt = new Float64Array(0);
  value = new Float64Array(0);
  thrLo = new Float64Array(0);
  thrHi = new Float64Array(0);
  shelvedUntil = new Float64Array(0);
  /** a no-data rule's last sample */
  seenAt = new Float64Array(0);
  /** a rate rule's previous sample time */
  prevTs = new Float64Array(0);
  /** when the next reminder of an unacknowledged alarm is due */
  remindAt = new Float64Array(0);
  /** a level rule's level: 0 none, 1 the least severe … */
  level = new Uint8Array(0);
  /** the deadline of the key's earliest pending timer entry */
  scheduledAt = new Float64Array(0);

  constructor(
    readonly ruleCount: number,
    private readonly maxDevices: number,
    /** a device was forgotten: its persisted state must go too */
    private readonly onForget: (deviceId: string) => void,
    /** per-device data beside the columns (windows, last values), kept in step with the slots */
    private readonly stores: readonly SlotStore[] = [],
  ) {
    this.grow(MIN_SLOTS);
  }

  get deviceCount(): number {
    return this.slotOf.size;
  }

  /** A slot for a new device; at the cap, quiet devices are forgotten first. Throws STATE_FULL if none is quiet. */
  allocate(id: string, now: number): number {
    if (this.slotOf.size >= this.maxDevices) this.evictIdle();
    if (this.slotOf.size >= this.maxDevices) {
      throw new M2MError('STATE_FULL', `rule state holds ${this.maxDevices} devices, all with alarms, delays or shelving; device ${id} is not tracked`, {
        field: 'deviceId',
      });
    }
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.ids.length;
      if (slot >= this.capacity) this.grow(this.capacity * 2);
      this.ids.push(id);
    } else {
      this.ids[slot] = id;
    }
    this.slotOf.set(id, slot);
    this.lastSeen[slot] = now;
    return slot;
  }

  /** Whether no rule of the device holds anything worth keeping (alarm, delay, shelving, no-data watch). */
  isQuiet(slot: number): boolean {
    for (let r = 0, k = slot * this.ruleCount; r < this.ruleCount; r++, k++) if (this.flags[k] & PERSISTED) return false;
    return true;
  }

  /** Frees the device's slot and says so through onForget. */
  forget(slot: number): void {
    const id = this.ids[slot];
    if (id === undefined) return;
    this.slotOf.delete(id);
    this.ids[slot] = undefined;
    this.freeSlots.push(slot);
    for (let r = 0, k = slot * this.ruleCount; r < this.ruleCount; r++, k++) this.clearKey(k);
    for (const store of this.stores) store.clear(slot);
    this.onForget(id);
  }

  /** Forgets the quiet devices silent for idleMs; returns how many. */
  forgetIdle(now: number, idleMs: number): number {
    let dropped = 0;
    for (const slot of this.slotOf.values()) {
      if (now - this.lastSeen[slot] >= idleMs && this.isQuiet(slot)) {
        this.forget(slot);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * When at most a quarter of the slots are used, moves the devices to the front of a smaller table. Returns
   * whether it did: keys then name other slots, so the caller schedules every device-rule again.
   */
  shrinkIfMostlyFree(): boolean {
    if (this.capacity <= MIN_SLOTS || this.slotOf.size * 4 > this.capacity) return false;
    const live = [...this.slotOf.entries()];
    let slots = MIN_SLOTS;
    while (slots < live.length * 2) slots *= 2;
    const old = { lastSeen: this.lastSeen, flags: this.flags, count: this.count, level: this.level };
    const oldFloats = CARRIED_FLOAT_COLUMNS.map((column) => [column, this[column]] as const);
    this.capacity = 0;
    this.lastSeen = new Float64Array(0);
    this.flags = new Uint16Array(0);
    this.count = new Uint16Array(0);
    this.level = new Uint8Array(0);
    for (const column of FLOAT_COLUMNS) this[column] = new Float64Array(0);
    this.grow(slots, false);
    const moves = live.map(([, from], to) => [from, to] as const);
    for (const store of this.stores) store.compact(moves, slots);
    this.ids = [];
    this.freeSlots = [];
    const n = this.ruleCount;
    live.forEach(([id, from], to) => {
      this.ids.push(id);
      this.slotOf.set(id, to);
      this.lastSeen[to] = old.lastSeen[from];
      const src = from * n;
      const dst = to * n;
      this.flags.set(old.flags.subarray(src, src + n), dst);
      this.count.set(old.count.subarray(src, src + n), dst);
      this.level.set(old.level.subarray(src, src + n), dst);
      for (const [column, values] of oldFloats) this[column].set(values.subarray(src, src + n), dst);
    });
    return true;
  }

  /** At the device cap: forget the least recently seen tenth of the quiet devices. */
  private evictIdle(): void {
    const quiet: Array<[number, number]> = [];
    for (const slot of this.slotOf.values()) if (this.isQuiet(slot)) quiet.push([this.lastSeen[slot], slot]);
    quiet.sort((a, b) => a[0] - b[0]);
    const drop = quiet.slice(0, Math.max(1, Math.ceil(this.maxDevices / 10)));
    for (const [, slot] of drop) this.forget(slot);
  }

  private clearKey(k: number): void {
    this.flags[k] = 0;
    this.count[k] = 0;
    this.level[k] = 0;
    for (const column of FLOAT_COLUMNS) this[column][k] = NaN;
  }

  /** Widens every column to `slots` devices; the new keys start cleared (flags 0, numbers NaN). */
  private grow(slots: number, growStores = true): void {
    const n = slots * this.ruleCount;
    const lastSeen = new Float64Array(slots);
    lastSeen.set(this.lastSeen);
    this.lastSeen = lastSeen;
    const flags = new Uint16Array(n);
    flags.set(this.flags);
    this.flags = flags;
    const count = new Uint16Array(n);
    count.set(this.count);
    this.count = count;
    const level = new Uint8Array(n);
    level.set(this.level);
    this.level = level;
    if (growStores) for (const store of this.stores) store.resize(slots);
    for (const column of FLOAT_COLUMNS) {
      const next = new Float64Array(n);
      next.set(this[column]);
      next.fill(NaN, this[column].length);
      this[column] = next;
    }
    this.capacity = slots;
  }
}
