import { errorMessage } from '../errors';
import { KeyedQueue } from '../keyed-queue';
import type { DeviceRegistryApi } from '../registry/types';
import { isControlMetric, registryId, type HostEvent, type MetricInfo } from './host';
import { datatypeName } from './values';

// Births register edge nodes and devices in the m2m-registry, keeping what the birth declared (metric names,
// datatypes, aliases, properties) in attributes.sparkplug, so telemetry, rules, the admin API and the operator
// surfaces see a Sparkplug device like any other. Deaths mark them offline at once; data marks them seen.
// Each id's registry work runs in arrival order, so a death right after a birth is not overtaken by it.

export interface TypeMapping {
  /** `{ "group/node": "type", "group": "type", "*": "type" }`: the most specific match wins. */
  types?: Record<string, string>;
  /** With no match in `types`: the group's name as the type (one type per group). */
  typePerGroup?: boolean;
}

/** JSON size kept for a catalog in attributes; over it, properties are left out (the registry caps attributes at 64 KiB). */
const CATALOG_BUDGET = 48 * 1024;

export function deviceTypeFor(mapping: TypeMapping, group: string, node: string): string | undefined {
  const types = mapping.types ?? {};
  const mapped = types[`${group}/${node}`] ?? types[group] ?? types['*'];
  if (mapped !== undefined) return mapped;
  return mapping.typePerGroup ? group : undefined;
}

export function catalogAttribute(event: Extract<HostEvent, { kind: 'birth' }>): Record<string, unknown> {
  const describe = (withProperties: boolean): Record<string, unknown> => {
    const metrics: Record<string, unknown> = {};
    for (const m of event.metrics) metrics[m.name] = describeMetric(m, withProperties);
    return {
      group: event.group,
      node: event.node,
      ...(event.device === undefined ? { bdSeq: event.bdSeq ?? null } : { device: event.device }),
      bornAt: event.timestamp,
      metrics,
    };
  };
  const full = describe(true);
  return JSON.stringify(full).length <= CATALOG_BUDGET ? full : describe(false);
}

function describeMetric(metric: MetricInfo, withProperties: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { datatype: datatypeName(metric.datatype) };
  if (metric.alias !== undefined) out.alias = metric.alias;
  if (withProperties && metric.properties !== undefined) out.properties = metric.properties;
  return out;
}

export class RegistrySync {
  private readonly queue = new KeyedQueue();
  /** Sparkplug devices online in the registry when this host started, by edge node, until the node's first NBIRTH. */
  private leftOnline: Map<string, string[]> | undefined;

  constructor(
    private readonly registry: DeviceRegistryApi,
    private readonly mapping: TypeMapping,
    private readonly onError: (id: string, message: string) => void,
  ) {}

  apply(events: readonly HostEvent[]): void {
    for (const event of events) {
      if (event.kind === 'birth' && event.device === undefined) this.endPreviousSession(event.group, event.node);
      if (event.kind !== 'birth' && event.kind !== 'death' && event.kind !== 'data') continue;
      const done = this.queue.run(event.id, () => this.one(event));
      if (done instanceof Promise) done.catch((err: unknown) => this.onError(event.id, errorMessage(err)));
    }
  }

  /**
   * An NBIRTH ends the edge node's previous session. Devices of sessions this host saw get their death from the
   * host; those still online in the registry from before this host started (a restart, a redeploy) are marked
   * offline here, at the node's first NBIRTH, until their DBIRTH. Queued per device id now, before the births that
   * follow, so a DBIRTH is never overtaken. The registry is read once, on the first NBIRTH.
   */
  private endPreviousSession(group: string, node: string): void {
    this.leftOnline ??= onlineSparkplugDevices(this.registry);
    const key = registryId(group, node);
    const ids = this.leftOnline.get(key);
    if (!ids) return;
    this.leftOnline.delete(key);
    for (const id of ids) {
      const done = this.queue.run(id, () => {
        this.registry.markOffline(id);
      });
      if (done instanceof Promise) done.catch((err: unknown) => this.onError(id, errorMessage(err)));
    }
  }

  private async one(event: Extract<HostEvent, { kind: 'birth' | 'death' | 'data' }>): Promise<void> {
    const registry = this.registry;
    if (event.kind === 'birth') {
      const type = deviceTypeFor(this.mapping, event.group, event.node);
      const existing = registry.get(event.id);
      const attributes = { ...(existing?.attributes ?? {}), sparkplug: catalogAttribute(event) };
      await registry.register({ id: event.id, type: existing ? undefined : type, attributes }, { upsert: true });
      registry.markOnline(event.id);
    } else if (event.kind === 'death') {
      if (registry.has(event.id)) registry.markOffline(event.id);
    } else if (registry.has(event.id) && event.records.some((r) => Object.keys(r.values).some((name) => !isControlMetric(name)))) {
      await registry.touch(event.id);
    }
  }
}

/** Sparkplug devices online in the registry, by their edge node's registry id (page by page: at most 1000 a page). */
function onlineSparkplugDevices(registry: DeviceRegistryApi): Map<string, string[]> {
  const byNode = new Map<string, string[]>();
  for (let page = 0; ; page++) {
    const result = registry.list({ online: true, page, pageSize: 1000 });
    for (const device of result.devices) {
      const sparkplug = device.attributes?.sparkplug as { group?: unknown; node?: unknown; device?: unknown } | undefined;
      if (typeof sparkplug?.group !== 'string' || typeof sparkplug.node !== 'string' || typeof sparkplug.device !== 'string') continue;
      const key = registryId(sparkplug.group, sparkplug.node);
      const ids = byNode.get(key);
      if (ids) ids.push(device.id);
      else byNode.set(key, [device.id]);
    }
    if ((page + 1) * result.pageSize >= result.total || result.devices.length === 0) return byNode;
  }
}
