import { defineNodeConfig } from '../../lib/config/reader';
import { JOB_LIMITS } from '../../lib/job/document';

// The saved properties of an m2m-job node, each default here and in the editor's defaults (a test compares them).
// A job document may set its own rollout, retries and timeout; these are what it gets when it does not.

export interface JobConfig {
  version: number;
  name: string;
  /** '' without a registry: jobs then list their devices, and state lives in memory (kept across redeploys only). */
  registry: string;
  maxInFlight: number;
  perMinute: number;
  retries: number;
  /** Seconds. */
  timeout: number;
  /** Seconds between progress events of a running job. */
  progressEvery: number;
}

export const JOB_CONFIG = defineNodeConfig<JobConfig>({
  type: 'm2m-job',
  steps: [],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: '' },
      registry: { type: 'string', default: '' },
      maxInFlight: { type: 'integer', minimum: 1, maximum: JOB_LIMITS.maxInFlight, default: 10 },
      perMinute: { type: 'number', minimum: 1, maximum: JOB_LIMITS.perMinute, default: 600 },
      retries: { type: 'integer', minimum: 0, maximum: JOB_LIMITS.retries, default: 0 },
      timeout: { type: 'number', exclusiveMinimum: 0, maximum: JOB_LIMITS.durationMs / 1000, default: 30 },
      progressEvery: { type: 'number', minimum: 0.1, maximum: 3600, default: 1 },
    },
  },
});
