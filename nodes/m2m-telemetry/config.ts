import { defineNodeConfig } from '../../lib/config/reader';
import type { TelemetryNodeProperties } from '../../lib/telemetry/node-config';
import { DEFAULT_LIMITS, FORMATS } from '../../lib/telemetry/types';

// The saved properties of an m2m-telemetry node, each default here once (the editor's defaults are compared with
// them by a test; lib/telemetry/node-config.ts relies on what this reads). The decoder checks what depends on other
// properties.

export interface TelemetryConfig extends TelemetryNodeProperties {
  version: number;
  name: string;
  registry: string;
  rejectOutput: boolean;
}

const FIELD_TYPE = { type: 'string', enum: ['path', 'jsonata'], default: 'path' };

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
    {
      // JSONata as an option for the device id path, the timestamp path and each mapping row: each says which it is.
      version: 2,
      up(config) {
        if (config.deviceIdPathType === undefined) config.deviceIdPathType = 'path';
        if (config.timestampPathType === undefined) config.timestampPathType = 'path';
        if (Array.isArray(config.mapping)) {
          config.mapping = config.mapping.map((row: unknown) =>
            row !== null && typeof row === 'object' && !Array.isArray(row) && (row as { type?: unknown }).type === undefined ? { ...row, type: 'path' } : row,
          );
        }
      },
    },
  ],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: '' },
      format: { type: 'string', enum: [...FORMATS], default: 'json' },
      encoding: { type: 'string', enum: ['auto', 'hex', 'base64'], default: 'auto' },
      senmlEncoding: { type: 'string', enum: ['auto', 'json', 'cbor'], default: 'auto' },
      mapping: {
        type: 'array',
        items: { type: 'object', properties: { metric: { type: 'string' }, path: { type: 'string' }, type: FIELD_TYPE } },
        default: [],
      },
      timestampPath: { type: 'string', default: '' },
      timestampPathType: FIELD_TYPE,
      binarySpec: { type: 'array', items: { type: 'object' }, default: [] },
      kvMode: { type: 'string', enum: ['auto', 'pairs', 'csv'], default: 'auto' },
      innerFormat: { type: 'string', enum: ['decoded', 'lpp', 'binary', 'json', 'kv'], default: 'decoded' },
      deviceIdFrom: { type: 'string', enum: ['auto', 'topic', 'path', 'fixed', 'msg'], default: 'auto' },
      topicPattern: { type: 'string', default: 'devices/{deviceId}/telemetry' },
      deviceIdPath: { type: 'string', default: '' },
      deviceIdPathType: FIELD_TYPE,
      fixedDeviceId: { type: 'string', default: '' },
      validation: { type: 'string', enum: ['none', 'inline', 'registry'], default: 'none' },
      schema: { default: '' },
      registry: { type: 'string', default: '' },
      rejectOutput: { type: 'boolean', default: false },
      maxBytes: { type: 'integer', minimum: 1, default: DEFAULT_LIMITS.maxBytes },
      maxRecords: { type: 'integer', minimum: 1, default: DEFAULT_LIMITS.maxRecords },
      maxMetrics: { type: 'integer', minimum: 1, default: DEFAULT_LIMITS.maxMetrics },
    },
  },
});
