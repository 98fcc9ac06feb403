import { defineNodeConfig } from '../../lib/config/reader';

// The saved properties of an m2m-rule node, each default here and in the editor's defaults (a test compares them).

export interface RuleConfig {
  version: number;
  name: string;
  registry: string;
  /** Rule definitions, checked by compileRules (lib/rules/compile.ts), which names the rule and field at fault. */
  rules: unknown;
  /** 2 when the telemetry pass-through output is on. */
  outputs: number;
  /** The context store for alarm state when no registry is configured ('' = the default store). */
  contextStore: string;
  /** Seconds a shelve lasts when the message gives no msg.duration. */
  shelveFor: number;
  idleHours: number;
  maxDevices: number;
}

export const RULE_CONFIG = defineNodeConfig<RuleConfig>({
  type: 'm2m-rule',
  steps: [
    {
      // The first release evaluated no rules for a node saved without any; the editor's default is one example rule.
      version: 1,
      up(config) {
        if (config.rules === undefined) config.rules = [];
      },
    },
    {
      // Rules 2.0: a rule says its condition type (threshold or expression); every earlier rule is a threshold rule.
      version: 2,
      up(config) {
        if (!Array.isArray(config.rules)) return;
        for (const rule of config.rules) {
          if (rule !== null && typeof rule === 'object' && !Array.isArray(rule) && (rule as Record<string, unknown>).condition === undefined) {
            (rule as Record<string, unknown>).condition = 'threshold';
          }
        }
      },
    },
  ],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: '' },
      registry: { type: 'string', default: '' },
      rules: {
        default: [
          { name: 'too-warm', condition: 'threshold', metric: 'temp', severity: 'major', raise: { op: '>', value: 30 }, clear: { op: '<', value: 28 } },
        ],
      },
      outputs: { type: 'integer', minimum: 1, maximum: 2, default: 1 },
      contextStore: { type: 'string', default: '' },
      // durations that end in timers: none is 0
      shelveFor: { type: 'number', exclusiveMinimum: 0, default: 3600 },
      idleHours: { type: 'number', exclusiveMinimum: 0, default: 24 },
      maxDevices: { type: 'integer', minimum: 1, default: 100_000 },
    },
  },
});
