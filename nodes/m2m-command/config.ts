import { defineNodeConfig } from '../../lib/config/reader';

// The saved properties of an m2m-command node, each default here and in the editor's defaults (a test compares them).

/** The longest delay a Node.js timer keeps, in seconds: a longer one fires at once. */
const LONGEST_TIMER_S = 2_147_483;

export interface CommandConfig {
  version: number;
  name: string;
  registry: string;
  /** Templates; an empty field means the default. */
  topic: string;
  replyTopic: string;
  mqtt5: boolean;
  /** Seconds. */
  timeout: number;
  retries: number;
  backoff: number;
  /** Seconds; 0 for no time to live. */
  ttl: number;
  queueSize: number;
  /** `mqtt`: JSON commands on output 1; `sparkplug`: NCMD/DCMD written through an m2m-sparkplug-host. */
  transport: 'mqtt' | 'sparkplug';
  /** The m2m-sparkplug-host node's id, with the Sparkplug transport. */
  sparkplugHost: string;
}

export const COMMAND_CONFIG = defineNodeConfig<CommandConfig>({
  type: 'm2m-command',
  steps: [],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: '' },
      registry: { type: 'string', default: '' },
      topic: { type: 'string', minLength: 1, default: 'devices/{deviceId}/commands/{command}' },
      replyTopic: { type: 'string', minLength: 1, default: 'devices/{deviceId}/replies' },
      mqtt5: { type: 'boolean', default: true },
      // a reply timer of 0 would time every command out at once
      timeout: { type: 'number', exclusiveMinimum: 0, maximum: LONGEST_TIMER_S, default: 10 },
      retries: { type: 'integer', minimum: 0, default: 0 },
      backoff: { type: 'number', minimum: 0, maximum: LONGEST_TIMER_S, default: 1 },
      // a queued command's expiry is a timer: a longer one would expire it at once
      ttl: { type: 'number', minimum: 0, maximum: LONGEST_TIMER_S, default: 0 },
      queueSize: { type: 'integer', minimum: 1, default: 50 },
      transport: { type: 'string', enum: ['mqtt', 'sparkplug'], default: 'mqtt' },
      sparkplugHost: { type: 'string', default: '' },
    },
  },
});
