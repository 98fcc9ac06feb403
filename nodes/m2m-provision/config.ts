import { defineNodeConfig } from '../../lib/config/reader';
import { PROVISION_POLICIES, type ProvisionPolicy } from '../../lib/provisioning';

// The saved properties of an m2m-provision node, each default here and in the editor's defaults (a test compares them).
// The provisioning secrets are not among them: they are the node's credentials (encrypted, never exported).

export interface ProvisionProfileConfig {
  key: string;
  /** The device type enrolled devices get; '' for none. */
  deviceType: string;
}

export interface ProvisionConfig {
  version: number;
  name: string;
  registry: string;
  policy: ProvisionPolicy;
  profiles: ProvisionProfileConfig[];
  /** The topic devices publish requests to (the mqtt in may subscribe to `<it>/+` to take client ids from the topic). */
  requestTopic: string;
  /** MQTT 3.1.1 answers go to `<responseTopic>/<clientId>`. */
  responseTopic: string;
  /** Requests per second per provisioning key, and how many may come at once. */
  rate: number;
  burst: number;
}

export const PROVISION_CONFIG = defineNodeConfig<ProvisionConfig>({
  type: 'm2m-provision',
  steps: [],
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: '' },
      registry: { type: 'string', default: '' },
      policy: { type: 'string', enum: [...PROVISION_POLICIES], default: 'allow-create' },
      profiles: {
        type: 'array',
        maxItems: 1000,
        items: {
          type: 'object',
          properties: { key: { type: 'string', minLength: 1, maxLength: 512 }, deviceType: { type: 'string', default: '' } },
          required: ['key'],
        },
        default: [],
      },
      requestTopic: { type: 'string', minLength: 1, pattern: '^[^+#]+$', default: 'provision/request' },
      responseTopic: { type: 'string', minLength: 1, pattern: '^[^+#]+$', default: 'provision/response' },
      rate: { type: 'number', exclusiveMinimum: 0, maximum: 100_000, default: 20 },
      burst: { type: 'integer', minimum: 1, maximum: 100_000, default: 100 },
    },
  },
});
