import { defineNodeConfig } from '../../lib/config/reader';
import { TWIN_OPERATIONS } from '../../lib/twin/operations';

// The saved properties of an m2m-twin node, each default here and in the editor's defaults.

export interface TwinConfig {
  version: number;
  name: string;
  registry: string;
  /** '' when each message names its operation (msg.operation). */
  operation: string;
}

export const TWIN_CONFIG = defineNodeConfig<TwinConfig>({
  type: 'm2m-twin',
  steps: [],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: '' },
      registry: { type: 'string', default: '' },
      operation: { type: 'string', enum: [...TWIN_OPERATIONS, ''], default: 'desire' },
    },
  },
});
