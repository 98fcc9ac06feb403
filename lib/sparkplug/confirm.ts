import { comparableReported, writesOf } from './command';
import type { HostEvent } from './host';
import type { SparkplugValue } from './values';

// m2m-command's tracker sends Sparkplug writes (QoS 0, no reply exists): a write it sent is confirmed when every
// written value comes back in a later NDATA/DDATA or birth of that edge node or device, and fails when it dies.
// Built from the tracker's records (id, device, command, parameters), so writes restored after a redeploy are
// watched again without the host knowing them.

export interface WatchedWrite {
  id: string;
  deviceId: string;
  command: string;
  params: unknown;
}

export interface WriteOutcome {
  id: string;
  status: 'succeeded' | 'failed';
  response: Record<string, SparkplugValue> | null;
  error: string | null;
}

interface Watch {
  /** Per metric, the texts the value may come back as (a Float is rounded to 32 bits on the wire). */
  expected: Map<string, string[]>;
  confirmed: Record<string, SparkplugValue>;
}

export class WriteConfirmations {
  private readonly byDevice = new Map<string, Map<string, Watch>>();

  /** Watches a sent write; one whose parameters name no metric is not watched (it times out in the tracker). */
  watch(write: WatchedWrite): void {
    let writes: [string, unknown][];
    try {
      writes = writesOf(write);
    } catch {
      return;
    }
    const expected = new Map<string, string[]>();
    for (const [name, value] of writes) expected.set(name, typeof value === 'number' ? [String(value), String(Math.fround(value))] : [String(value)]);
    let watches = this.byDevice.get(write.deviceId);
    if (!watches) this.byDevice.set(write.deviceId, (watches = new Map()));
    watches.set(write.id, { expected, confirmed: {} });
  }

  forget(id: string, deviceId: string): void {
    const watches = this.byDevice.get(deviceId);
    if (!watches?.delete(id) || watches.size > 0) return;
    this.byDevice.delete(deviceId);
  }

  get size(): number {
    let n = 0;
    for (const watches of this.byDevice.values()) n += watches.size;
    return n;
  }

  /** The outcomes host events bring: data and births confirm, a death fails. The ended writes are forgotten. */
  observe(events: readonly HostEvent[]): WriteOutcome[] {
    if (this.byDevice.size === 0) return [];
    const outcomes: WriteOutcome[] = [];
    for (const event of events) {
      const watches = this.byDevice.get(event.id);
      if (!watches) continue;
      if (event.kind === 'death') {
        for (const id of watches.keys())
          outcomes.push({ id, status: 'failed', response: null, error: `${event.id} went offline before the written value came back` });
        this.byDevice.delete(event.id);
      } else if (event.kind === 'data') {
        for (const record of event.records) this.confirm(event.id, watches, record.values, outcomes);
      } else if (event.kind === 'birth') {
        const values: Record<string, SparkplugValue> = {};
        for (const metric of event.metrics) if (metric.value !== undefined) values[metric.name] = metric.value;
        this.confirm(event.id, watches, values, outcomes);
      }
    }
    return outcomes;
  }

  private confirm(deviceId: string, watches: Map<string, Watch>, values: Record<string, SparkplugValue>, outcomes: WriteOutcome[]): void {
    for (const [id, watch] of watches) {
      for (const [name, accepted] of watch.expected) {
        const got = values[name];
        if (got !== undefined && got !== null && accepted.includes(comparableReported(got))) {
          watch.confirmed[name] = got;
          watch.expected.delete(name);
        }
      }
      if (watch.expected.size > 0) continue;
      outcomes.push({ id, status: 'succeeded', response: watch.confirmed, error: null });
      this.forget(id, deviceId);
    }
  }
}
