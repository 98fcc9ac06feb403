import { defineNodeConfig } from '../../lib/config/reader';
import { DEFAULT_METRICS, type MetricSpec, SIMULATOR_FORMATS, type SimulatorFormat } from '../../lib/simulator';

// The saved properties of an m2m-simulator node, each default here and in the editor's defaults (a test compares them).

/** The longest delay a Node.js timer keeps: 2^31 - 1 ms; a longer one fires at once. */
const LONGEST_TIMER_MS = 2_147_483_647;

export interface SimulatorConfig {
  version: number;
  name: string;
  devices: number;
  idPrefix: string;
  /** Seconds between telemetry rounds; 0 for none. */
  interval: number;
  /** `sparkplug`: one simulated Sparkplug B edge node (see nodes/m2m-sparkplug-host/simulated-edge.ts). */
  format: SimulatorFormat | 'sparkplug';
  /** Each metric is checked by the simulator itself (lib/simulator/metrics.ts). */
  metrics: MetricSpec[];
  topic: string;
  commandTopic: string;
  replyTopic: string;
  /** Where a device reports the state it applied after a `set-desired` command (a device twin's reported side). */
  reportTopic: string;
  /** Milliseconds. */
  latency: number;
  jitter: number;
  failureRatio: number;
  seed: string;
}

export const SIMULATOR_CONFIG = defineNodeConfig<SimulatorConfig>({
  type: 'm2m-simulator',
  steps: [
    {
      // The first release simulated one temperature metric when a node had no metrics (or an empty list); the
      // editor's default has two. Such a node keeps its one metric, written out, so that an empty list can be refused.
      version: 1,
      up(config) {
        if (!Array.isArray(config.metrics) || config.metrics.length === 0) {
          config.metrics = [{ name: 'temperature', min: 18, max: 26, noise: 0.2, drift: 0.1, unit: 'Cel', lppType: 'temperature' }];
        }
      },
    },
  ],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: '' },
      devices: { type: 'integer', minimum: 1, maximum: 100_000, default: 10 },
      idPrefix: { type: 'string', pattern: '^[A-Za-z0-9._:-]{0,100}$', default: 'sim-' },
      // a round every 10 ms at most: a typo such as 0.0001 must not become a timer that spins
      interval: {
        type: 'number',
        anyOf: [{ const: 0 }, { minimum: 0.01, maximum: LONGEST_TIMER_MS / 1000 }],
        description: `0 (no telemetry) or 0.01 to ${LONGEST_TIMER_MS / 1000} seconds`,
        default: 5,
      },
      format: { type: 'string', enum: [...SIMULATOR_FORMATS, 'sparkplug'], default: 'json' },
      metrics: { type: 'array', minItems: 1, items: { type: 'object' }, default: DEFAULT_METRICS },
      topic: { type: 'string', minLength: 1, default: 'devices/{deviceId}/telemetry' },
      commandTopic: { type: 'string', minLength: 1, default: 'devices/{deviceId}/commands/{command}' },
      replyTopic: { type: 'string', minLength: 1, default: 'devices/{deviceId}/replies' },
      reportTopic: { type: 'string', minLength: 1, default: 'devices/{deviceId}/reported' },
      latency: { type: 'number', minimum: 0, maximum: LONGEST_TIMER_MS / 2, default: 50 },
      jitter: { type: 'number', minimum: 0, maximum: LONGEST_TIMER_MS / 2, default: 0 },
      failureRatio: { type: 'number', minimum: 0, maximum: 1, default: 0 },
      seed: { type: 'string', default: '' },
    },
  },
});
