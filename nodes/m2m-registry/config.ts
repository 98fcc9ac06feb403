import { defineNodeConfig } from '../../lib/config/reader';

// The saved properties of an m2m-registry config node, each default here and in the editor's defaults (a test
// compares them). The Redis URL is a credential, not a saved property.

export interface RegistryConfig {
  version: number;
  /** The registry's name and Redis namespace; '' for the node's id. */
  name: string;
  storeType: 'file' | 'memory' | 'redis';
  /** Seconds, as saved: checked by parseOfflineTimeout (lib/registry/validate.ts), which refuses an empty field. */
  offlineTimeout: unknown;
  /** Device types as JSON text, parsed by parseDeviceTypes. */
  deviceTypes: string;
}

export const REGISTRY_CONFIG = defineNodeConfig<RegistryConfig>({
  type: 'm2m-registry',
  steps: [
    {
      // The first release named a registry saved without a name after its id (its Redis namespace too); the
      // editor's default name is "devices".
      version: 1,
      up(config) {
        if (config.name === undefined) config.name = '';
      },
    },
  ],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: 'devices' },
      storeType: { type: 'string', enum: ['file', 'memory', 'redis'], default: 'file' },
      offlineTimeout: { default: 300 },
      deviceTypes: { type: 'string', default: '[]' },
    },
  },
});
