// Shared pieces of the command tracker's unit tests: a fake clock, a device type, a tracker that records what
// it sends and reports, and a device's reply.
import { CommandTracker, MemoryCommandStore, type StatusEvent, type TrackerOptions, type TransportMessage } from '../../lib/command';
import type { DeviceType } from '../../lib/registry';

// Durations run on a fake clock; setImmediate stays real so the file store can write.
export const FAKE = {
  toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as Array<
    'setTimeout' | 'clearTimeout' | 'setInterval' | 'clearInterval' | 'Date'
  >,
};

export const VALVE: DeviceType = {
  name: 'valve',
  offlineTimeoutMs: 60_000,
  commands: {
    open: {
      paramsSchema: {
        type: 'object',
        properties: { percent: { type: 'number', minimum: 0, maximum: 100 } },
        required: ['percent'],
        additionalProperties: false,
      },
    },
    close: {},
  },
};

export interface Harness {
  tracker: CommandTracker;
  sent: TransportMessage[];
  events: StatusEvent[];
  statuses(id: string): string[];
  warnings: string[];
}

export function harness(options: Partial<TrackerOptions> = {}): Harness {
  const sent: TransportMessage[] = [];
  const events: StatusEvent[] = [];
  const warnings: string[] = [];
  const tracker = new CommandTracker({
    store: new MemoryCommandStore(),
    onCommand: (m) => sent.push(m),
    onStatus: (e) => events.push(e),
    onWarning: (w) => warnings.push(w),
    ...options,
  });
  return { tracker, sent, events, warnings, statuses: (id) => events.filter((e) => e.id === id).map((e) => e.status) };
}

/** An MQTT 3.1.1 style reply from the device the command went to, on its reply topic. */
export function reply(
  h: Harness,
  id: string,
  body: Record<string, unknown> = { status: 'ok', result: 42 },
  deviceId = h.events.find((e) => e.id === id)?.deviceId ?? 'd1',
): string {
  return h.tracker.reply({ topic: `devices/${deviceId}/replies`, payload: JSON.stringify({ id, ...body }) });
}
