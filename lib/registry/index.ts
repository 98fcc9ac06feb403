import path from 'path';
import { M2MError } from '../errors';
import { DeviceRegistry } from './registry';
import { FileStore } from './stores/file';
import { MemoryStore } from './stores/memory';
import { RedisStore } from './stores/redis';
import type { RegistryStore } from './stores/types';
import type { DeviceType } from './types';

export { DeviceRegistry, DEFAULT_OFFLINE_TIMEOUT_MS } from './registry';
export { parseDeviceTypes } from './validate';
export * from './types';

export type StoreConfig =
  { kind: 'memory'; key?: string } | { kind: 'file'; dir: string; compactAfter?: number } | { kind: 'redis'; url: string; namespace?: string };

export interface OpenRegistryOptions {
  name: string;
  store: StoreConfig;
  types?: DeviceType[];
  defaultOfflineTimeoutMs?: number;
  sweepMs?: number;
  warn?: (message: string) => void;
}

export function createStore(config: StoreConfig, registryName: string, warn?: (message: string) => void): RegistryStore {
  switch (config.kind) {
    case 'memory':
      return MemoryStore.forKey(config.key);
    case 'file':
      return new FileStore({ dir: config.dir, warn, compactAfter: config.compactAfter });
    case 'redis':
      if (!config.url) throw new M2MError('INVALID_CONFIG', 'the Redis store needs a URL', { field: 'redisUrl' });
      return new RedisStore({ url: config.url, namespace: config.namespace ?? registryName, warn });
    default:
      throw new M2MError('INVALID_CONFIG', `unknown store "${(config as { kind: string }).kind}"`, { field: 'storeType' });
  }
}

/** Creates a registry without waiting for its store to load (call `ready()`); for config nodes. */
export function createRegistry(options: OpenRegistryOptions): DeviceRegistry {
  const store = createStore(options.store, options.name, options.warn);
  const registry = new DeviceRegistry({ ...options, store });
  if (store instanceof FileStore) store.setSnapshotSource(registry);
  return registry;
}

/** Creates a registry and waits until its store is loaded. */
export function openRegistry(options: OpenRegistryOptions): Promise<DeviceRegistry> {
  return untilLoaded(createRegistry(options));
}

/** Resolves with the registry once its store is loaded; a registry whose store does not open is closed. */
export async function untilLoaded(registry: DeviceRegistry): Promise<DeviceRegistry> {
  try {
    await registry.ready();
  } catch (err) {
    await registry.close().catch(() => undefined);
    throw err;
  }
  return registry;
}

/** Where the file store of a registry lives under the Node-RED user directory. */
export function fileStoreDir(userDir: string, registryId: string): string {
  return path.join(userDir, 'm2m-registry', registryId.replace(/[^A-Za-z0-9._-]/g, '_'));
}
