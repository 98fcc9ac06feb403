// What each m2m node shows of itself to the admin API and the editor's M2M sidebar (lib/admin/directory.ts).
import type { CommandTracker } from '../../lib/command';
import { adminDirectory, type Listing } from '../../lib/admin/directory';
import type { AlarmControl, PendingCommand } from '../../lib/admin/types';
import { errorMessage, M2MError } from '../../lib/errors';
import type { JobManager } from '../../lib/job';
import type { DeviceRegistry } from '../../lib/registry';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import type { AlarmEvent, RuleEngine } from '../../lib/rules';
import { installAdminApi } from './admin-routes';
import type { Node, NodeMessage, SendFunction } from './node-red';

export { installAdminApi };

/** An m2m-registry config node: its devices, searched and paged in the registry. */
export function listRegistry(node: Node, registry: DeviceRegistry): Listing {
  const listing = adminDirectory.addRegistry({
    id: node.id,
    name: registry.name,
    storeKind: () => registry.storeKind,
    counts: () => registry.counts(),
    search: (query) => registry.search(query),
    get: (deviceId) => registry.get(deviceId),
  });
  registry.on('device', listing.changed);
  return listing;
}

/** An m2m-command node: its pending and queued commands; a cancel ends one with a `canceled` status event. */
export function listCommands(node: Node, registryId: string | undefined, tracker: () => CommandTracker | undefined): Listing {
  return adminDirectory.addCommands({
    id: node.id,
    name: node.name || node.id,
    registryId,
    list: (deviceId) => {
      const all = tracker()?.inProgress() ?? [];
      return all
        .filter((c) => deviceId === undefined || c.deviceId === deviceId)
        .map((c): PendingCommand => ({
          id: c.id,
          deviceId: c.deviceId,
          command: c.command,
          params: c.params,
          state: c.phase === 'queued' ? 'queued' : 'pending',
          attempts: c.attempts,
          createdAt: c.createdAt,
          expiresAt: c.expiresAt,
        }));
    },
    cancel: (commandId, by) => tracker()?.cancel(commandId, `canceled by ${by}`),
  });
}

export interface RuleNodeParts {
  registryId: string | undefined;
  registry: DeviceRegistryApi | undefined;
  engine: RuleEngine;
  /** Resolves once the node's alarm state is loaded. */
  loading: Promise<void>;
  /** The node's own input handling: the API's transitions take the control message's path. */
  handle(msg: NodeMessage, send: SendFunction): void;
}

/**
 * An m2m-rule node: its active alarms; ack, shelve, unshelve and reset go in as the control message would
 * (`msg.topic` = the operation, with `msg.by`), so the same event leaves output 1.
 */
export function listAlarms(node: Node, parts: RuleNodeParts): Listing {
  const { engine, registry } = parts;
  return adminDirectory.addAlarms({
    id: node.id,
    name: node.name || node.id,
    registryId: parts.registryId,
    ruleNames: () => engine.rules.map((r) => r.name),
    list: (deviceId) => engine.list(deviceId),
    knows: (deviceId) => engine.snapshot(deviceId) !== undefined || registry?.has(deviceId) === true,
    control: async (request: AlarmControl): Promise<AlarmEvent[]> => {
      await parts.loading.catch((err: unknown) => {
        throw new M2MError('NOT_READY', `the rule node's alarm state is not loaded: ${errorMessage(err)}`, { field: 'node' });
      });
      const msg: NodeMessage = { topic: request.op, deviceId: request.deviceId, by: request.by };
      if (request.rule !== undefined) msg.rule = request.rule;
      if (request.duration !== undefined) msg.duration = request.duration;
      const events: AlarmEvent[] = [];
      parts.handle(msg, (out) => {
        node.send(out);
        const first = Array.isArray(out) ? out[0] : out;
        for (const m of Array.isArray(first) ? first : first ? [first] : []) events.push(m.payload as AlarmEvent);
      });
      return events;
    },
  });
}

/** An m2m-job node: its jobs' progress, for the admin API and the sidebar's Jobs section. */
export function listJobs(node: Node, registryId: string | undefined, manager: () => JobManager | undefined): Listing {
  return adminDirectory.addJobs({
    id: node.id,
    name: node.name || node.id,
    registryId,
    list: () => manager()?.list() ?? [],
  });
}
