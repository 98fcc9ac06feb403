import { M2MError } from '../errors';
import { makeRandom } from './random';

// Simulated devices of which a given share fails every command, and the simulator's own record of what each device
// answered: what a fleet job's counts are checked against.

/** Exactly round(ids × share) of the ids, picked at random from the seed. */
export function pickFailing(ids: readonly string[], share: number, seed: number | string = 1): Set<string> {
  if (!(share >= 0 && share <= 1)) throw new M2MError('INVALID_CONFIG', 'the failing share must be 0..1', { field: 'failingShare' });
  const random = makeRandom(seed);
  const order = [...ids];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return new Set(order.slice(0, Math.round(ids.length * share)));
}

export interface ReplyCounts {
  /** Devices that answered at least once. */
  devices: number;
  ok: number;
  failed: number;
}

/** Every reply the simulated devices sent: per device, the command ids and whether each failed. */
export class ReplyRecord {
  readonly byDevice = new Map<string, Array<{ commandId: string | undefined; command: string; failed: boolean }>>();

  /** For SimulatorOptions.onReply. */
  readonly onReply = (deviceId: string, commandId: string | undefined, command: string, failed: boolean): void => {
    const list = this.byDevice.get(deviceId);
    const entry = { commandId, command, failed };
    if (list) list.push(entry);
    else this.byDevice.set(deviceId, [entry]);
  };

  counts(): ReplyCounts {
    let ok = 0;
    let failed = 0;
    for (const list of this.byDevice.values()) {
      for (const r of list) {
        if (r.failed) failed++;
        else ok++;
      }
    }
    return { devices: this.byDevice.size, ok, failed };
  }

  /** How many replies each device sent. */
  repliesOf(deviceId: string): number {
    return this.byDevice.get(deviceId)?.length ?? 0;
  }
}

/** Options for a DeviceSimulator whose devices in `failing` fail every command, with a record of the replies. */
export function failingFleet(failing: ReadonlySet<string>): { fails: (deviceId: string) => boolean; onReply: ReplyRecord['onReply']; record: ReplyRecord } {
  const record = new ReplyRecord();
  return { fails: (deviceId) => failing.has(deviceId), onReply: record.onReply, record };
}
