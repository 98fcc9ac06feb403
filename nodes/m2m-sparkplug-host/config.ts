import { defineNodeConfig } from '../../lib/config/reader';

// The saved properties of an m2m-sparkplug-host node, each default here and in the editor's defaults (a test compares them).
// The broker user name and password are the node's credentials (encrypted, never exported).

export interface SparkplugHostConfig {
  version: number;
  name: string;
  registry: string;
  /** The broker: mqtt://host:port or mqtts://… */
  broker: string;
  /** The Sparkplug host id: one topic level of spBv1.0/STATE/<hostId>. */
  hostId: string;
  clientId: string;
  /** Comma-separated Sparkplug groups; empty for every group. */
  groups: string;
  /** JSON `{ "group/node": "type", "group": "type", "*": "type" }`. */
  types: string;
  typePerGroup: boolean;
  maxDevicesPerNode: number;
  maxMetrics: number;
  /** Seconds between two rebirth requests to one edge node. */
  rebirthInterval: number;
}

export const SPARKPLUG_HOST_CONFIG = defineNodeConfig<SparkplugHostConfig>({
  type: 'm2m-sparkplug-host',
  steps: [],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: '' },
      registry: { type: 'string', default: '' },
      broker: { type: 'string', pattern: '^(mqtts?|wss?|tcp|ssl)://[^\\s]+$', default: 'mqtt://127.0.0.1:1883' },
      hostId: { type: 'string', pattern: '^[^/+#\\s]{1,128}$', default: 'm2m-host' },
      clientId: { type: 'string', maxLength: 128, default: '' },
      groups: { type: 'string', pattern: '^[^/+#]*$', default: '' },
      types: { type: 'string', default: '{}' },
      typePerGroup: { type: 'boolean', default: false },
      maxDevicesPerNode: { type: 'integer', minimum: 1, maximum: 100000, default: 1000 },
      maxMetrics: { type: 'integer', minimum: 1, maximum: 100000, default: 10000 },
      rebirthInterval: { type: 'number', minimum: 0, maximum: 86400, default: 5 },
    },
  },
});
