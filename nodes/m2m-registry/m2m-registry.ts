import { createRegistry, fileStoreDir, parseDeviceTypes, type DeviceRegistry, type StoreConfig } from '../../lib/registry';
import { parseOfflineTimeout } from '../../lib/registry/validate';
import { MemoryStore } from '../../lib/registry/stores/memory';
import { errorMessage } from '../../lib/errors';
import type { StoreStatus } from '../../lib/registry/stores/types';
import type { Node, NodeAPI, NodeDef, NodeStatus } from '../shared/node-red';
import { installAdminApi, listRegistry } from '../shared/admin-sources';
import type { Listing } from '../../lib/admin/directory';
import { REGISTRY_CONFIG } from './config';

interface RegistryDef extends NodeDef {
  storeType?: 'file' | 'memory' | 'redis';
  offlineTimeout?: number | string;
  deviceTypes?: string;
}

type RegistryNode = Node<{ redisUrl?: string }> & { registry?: DeviceRegistry; registryError?: string };

export = function (RED: NodeAPI): void {
  installAdminApi(RED);
  RED.nodes.registerType(
    'm2m-registry',
    function (this: Node, config: NodeDef) {
      RED.nodes.createNode(this, config);
      const node = this as RegistryNode;
      const def = config as RegistryDef;
      let closed = false;
      let listing: Listing | undefined;
      try {
        const saved = REGISTRY_CONFIG.read(config);
        node.registry = createRegistry({
          name: saved.name || def.id,
          store: storeConfig(RED, { ...def, storeType: saved.storeType, name: saved.name }, node),
          types: parseDeviceTypes(saved.deviceTypes),
          defaultOfflineTimeoutMs: parseOfflineTimeout(saved.offlineTimeout, 300),
          warn: (message) => node.warn(message),
        });
        // Redis: yellow while waiting for it (the registry keeps retrying), green once connected, red if loading failed.
        node.registry.on('store', (status: StoreStatus) => node.status(storeBadge(status)));
        listing = listRegistry(node, node.registry);
        const shown = node.registry.storeState;
        if (shown) node.status(storeBadge(shown));
        node.registry.ready().catch((err: unknown) => {
          if (closed) return; // closed while still waiting for its store: nothing failed
          node.registryError = errorMessage(err);
          node.error(`registry store did not open: ${node.registryError}`);
        });
      } catch (err) {
        // Invalid config: nothing is created (no store, no timer); every node using this registry rejects its messages.
        node.registryError = errorMessage(err);
        node.error(`m2m-registry is not configured correctly: ${node.registryError}`);
        node.status({ fill: 'red', shape: 'ring', text: 'invalid config' });
      }

      node.on('close', (removed, done) => {
        closed = true;
        listing?.remove();
        const closing = node.registry?.close() ?? Promise.resolve();
        if (removed && (def.storeType ?? 'file') === 'memory') MemoryStore.forget(def.id);
        closing.catch((err: unknown) => node.error(`closing the registry store: ${errorMessage(err)}`)).finally(() => done());
      });
    },
    { credentials: { redisUrl: { type: 'password' } } },
  );
};

const STORE_BADGES: Record<StoreStatus['state'], NodeStatus> = {
  connecting: { fill: 'yellow', shape: 'ring', text: 'connecting to Redis…' },
  waiting: { fill: 'yellow', shape: 'ring', text: 'waiting for Redis…' },
  connected: { fill: 'green', shape: 'dot', text: 'connected' },
  failed: { fill: 'red', shape: 'ring', text: 'store failed' },
};

function storeBadge(status: StoreStatus): NodeStatus {
  return STORE_BADGES[status.state];
}

function storeConfig(RED: NodeAPI, def: RegistryDef, node: RegistryNode): StoreConfig {
  switch (def.storeType ?? 'file') {
    case 'memory':
      return { kind: 'memory', key: def.id };
    case 'redis':
      return { kind: 'redis', url: node.credentials.redisUrl || 'redis://127.0.0.1:6379', namespace: def.name || def.id };
    default:
      return { kind: 'file', dir: fileStoreDir(RED.settings.userDir ?? process.cwd(), def.id) };
  }
}
