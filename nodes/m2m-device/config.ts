import { defineNodeConfig } from '../../lib/config/reader';

// The saved properties of an m2m-device node, each default here and in the editor's defaults (a test compares them).

export interface DeviceConfig {
  version: number;
  name: string;
  registry: string;
  /** '' when each message names its operation (msg.operation). */
  operation: string;
  upsert: boolean;
  issueToken: boolean;
  autoRegister: boolean;
  autoType: string;
  pageSize: number;
  /** The lifecycle events sent on output 2, comma-separated. */
  events: string;
  /** Where the result goes: `payload`, or another msg property so a touch can pass telemetry through. */
  resultTo: string;
}

export const DEVICE_CONFIG = defineNodeConfig<DeviceConfig>({
  type: 'm2m-device',
  steps: [
    {
      // The first release took the operation from each message when the node had none; the editor's default is touch.
      version: 1,
      up(config) {
        if (config.operation === undefined) config.operation = '';
      },
    },
  ],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: '' },
      registry: { type: 'string', default: '' },
      operation: {
        type: 'string',
        enum: ['register', 'get', 'update', 'remove', 'list', 'touch', 'verify', 'online', 'offline', 'presence', ''],
        default: 'touch',
      },
      upsert: { type: 'boolean', default: false },
      issueToken: { type: 'boolean', default: false },
      autoRegister: { type: 'boolean', default: false },
      autoType: { type: 'string', default: '' },
      pageSize: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      events: { type: 'string', pattern: '^((registered|updated|removed|online|offline)(,|$))*$', default: 'registered,updated,removed,online,offline' },
      resultTo: { type: 'string', minLength: 1, pattern: '^[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*$', default: 'payload' },
    },
  },
});
