import type { DeviceRegistryApi } from '../../lib/registry/types';
import { M2MError } from '../../lib/errors';
import type { NodeAPI } from './node-red';

/** The m2m-registry config node exposes its registry as `registry`. */
export interface RegistryConfigNode {
  registry?: DeviceRegistryApi;
  /** Why the registry could not be created or opened (bad device types, unreachable store). */
  registryError?: string;
}

/** Finds the registry a node's config points at, or throws a clear error when none is configured or deployed. */
export function lookupRegistry(RED: NodeAPI, configId: unknown): DeviceRegistryApi {
  if (typeof configId !== 'string' || configId === '') {
    throw new M2MError('NO_REGISTRY', 'no m2m-registry is configured on this node', { field: 'registry' });
  }
  const node = RED.nodes.getNode(configId) as RegistryConfigNode | null;
  if (node?.registryError) {
    throw new M2MError('REGISTRY_UNAVAILABLE', `m2m-registry is not available: ${node.registryError}`, { field: 'registry' });
  }
  if (!node?.registry) {
    throw new M2MError('NO_REGISTRY', `m2m-registry ${configId} is not deployed`, { field: 'registry' });
  }
  return node.registry;
}

/** Like lookupRegistry, but undefined when the (optional) registry property is empty. */
export function optionalRegistry(RED: NodeAPI, configId: unknown): DeviceRegistryApi | undefined {
  return typeof configId === 'string' && configId !== '' ? lookupRegistry(RED, configId) : undefined;
}

/**
 * A node's start-up work that loads its state from the registry (`starting`), as a message sees it: waited for
 * while the store loads, but failed at once with STORE_UNAVAILABLE while the store is unreachable, so messages
 * do not pile up behind a Redis that is away.
 */
export function startedFor<T>(registry: DeviceRegistryApi | undefined, starting: Promise<T>): Promise<T> {
  return registry ? registry.ready().then(() => starting) : starting;
}
