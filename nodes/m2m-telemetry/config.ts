import { defineNodeConfig } from '../../lib/config/reader';

// The saved properties of an m2m-telemetry node, each default here and in the editor's defaults (a test compares
// them). The decoder checks what depends on other properties (lib/telemetry/node-config.ts).

export interface TelemetryConfig {
  version: number;
  name: string;
  format: string;
  encoding: string;
  senmlEncoding: string;
  mapping: Array<{ metric: string; path: string }>;
  timestampPath: string;
  binarySpec: Array<Record<string, unknown>>;
  kvMode: string;
  innerFormat: string;
  deviceIdFrom: string;
  topicPattern: string;
  deviceIdPath: string;
  fixedDeviceId: string;
  validation: 'none' | 'inline' | 'registry';
  /** A JSON Schema, as JSON text (or an object, in a flow written by hand). */
  schema: unknown;
  registry: string;
  rejectOutput: boolean;
  maxBytes: number;
  maxRecords: number;
  maxMetrics: number;
}

export const TELEMETRY_CONFIG = defineNodeConfig<TelemetryConfig>({
  type: 'm2m-telemetry',
  steps: [
    {
      // The first release also read mapping and binarySpec written as JSON text (flows written by hand); the editor
      // keeps them as lists. And a node saved without a topic pattern had none: with device id "topic" that is refused.
      version: 1,
      up(config) {
        for (const key of ['mapping', 'binarySpec']) {
          const value = config[key];
          if (typeof value !== 'string') continue;
          if (value.trim() === '') {
            config[key] = [];
            continue;
          }
          try {
            const parsed: unknown = JSON.parse(value);
            if (Array.isArray(parsed)) config[key] = parsed;
          } catch {
            // left as it is: the reader names the property
          }
        }
        if (config.topicPattern === undefined) config.topicPattern = '';
      },
    },
  ],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: '' },
      format: { type: 'string', enum: ['json', 'senml', 'lpp', 'binary', 'kv', 'sparkplug', 'ttn', 'chirpstack'], default: 'json' },
      encoding: { type: 'string', enum: ['auto', 'hex', 'base64'], default: 'auto' },
      senmlEncoding: { type: 'string', enum: ['auto', 'json', 'cbor'], default: 'auto' },
      mapping: { type: 'array', items: { type: 'object' }, default: [] },
      timestampPath: { type: 'string', default: '' },
      binarySpec: { type: 'array', items: { type: 'object' }, default: [] },
      kvMode: { type: 'string', enum: ['auto', 'pairs', 'csv'], default: 'auto' },
      innerFormat: { type: 'string', enum: ['decoded', 'lpp', 'binary', 'json', 'kv'], default: 'decoded' },
      deviceIdFrom: { type: 'string', enum: ['auto', 'topic', 'path', 'fixed', 'msg'], default: 'auto' },
      topicPattern: { type: 'string', default: 'devices/{deviceId}/telemetry' },
      deviceIdPath: { type: 'string', default: '' },
      fixedDeviceId: { type: 'string', default: '' },
      validation: { type: 'string', enum: ['none', 'inline', 'registry'], default: 'none' },
      schema: { default: '' },
      registry: { type: 'string', default: '' },
      rejectOutput: { type: 'boolean', default: false },
      maxBytes: { type: 'integer', minimum: 1, default: 262_144 },
      maxRecords: { type: 'integer', minimum: 1, default: 10_000 },
      maxMetrics: { type: 'integer', minimum: 1, default: 10_000 },
    },
  },
});
