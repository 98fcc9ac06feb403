// The admin API's answers, without HTTP: the routes (nodes/shared/admin-routes.ts) parse the request with
// ./requests, call one of these and send the result as JSON, or the M2MError's code with adminStatus(code).
import { M2MError } from '../errors';
import type { StatusEvent } from '../command/types';
import type { DeviceRecord } from '../registry/types';
import { SEVERITIES, type AlarmEvent, type Severity } from '../rules/types';
import type { AdminDirectory } from './directory';
import type { AlarmQuery, CommandQuery, JobQuery } from './requests';
import type { AlarmControl, AlarmItem, AlarmSource, CommandItem, CommandSource, DeviceSearch, JobItem, Page, RegistrySource } from './types';

const NOT_FOUND = new Set(['NODE_NOT_FOUND', 'DEVICE_NOT_FOUND', 'RULE_NOT_FOUND', 'COMMAND_NOT_FOUND']);
const CONFLICT = new Set(['NO_TRANSITION', 'NOT_READY', 'STORE_UNAVAILABLE']);

/** The HTTP status of an error: 404 for what does not exist, 409 for a state that refuses, 400 for bad input. */
export function adminStatus(err: unknown): number {
  if (!(err instanceof M2MError)) return 500;
  if (NOT_FOUND.has(err.code)) return 404;
  if (CONFLICT.has(err.code)) return 409;
  return 400;
}

export interface RegistrySummary {
  id: string;
  name: string;
  store: string;
  devices: number;
  online: number;
}

export interface DeviceDetail extends DeviceRecord {
  alarms: AlarmItem[];
  commands: CommandItem[];
}

export interface AlarmPage extends Page<AlarmItem> {
  /** Of the whole filtered list, not only this page. */
  counts: Record<Severity, number> & { unacknowledged: number };
}

const RANK: Record<Severity, number> = { critical: 0, major: 1, minor: 2, warning: 3 };

/** Unacknowledged first, then by severity, then the newest first. */
function alarmOrder(a: AlarmItem, b: AlarmItem): number {
  return Number(a.acknowledged) - Number(b.acknowledged) || RANK[a.severity] - RANK[b.severity] || (b.raisedAt ?? 0) - (a.raisedAt ?? 0);
}

function page<T>(items: T[], offset: number, limit: number): Page<T> {
  return { total: items.length, offset, items: items.slice(offset, offset + limit) };
}

export class AdminApi {
  constructor(private readonly directory: AdminDirectory) {}

  registries(): RegistrySummary[] {
    return [...this.directory.registries.values()].map((r) => ({ id: r.id, name: r.name, store: r.storeKind(), ...r.counts() }));
  }

  devices(registryId: string, search: DeviceSearch): Page<DeviceRecord> {
    const found = this.registry(registryId).search(search);
    return { total: found.total, offset: search.offset, items: found.items };
  }

  /** The device record with its active alarms and pending or queued commands, from the nodes using its registry. */
  device(registryId: string, deviceId: string): DeviceDetail {
    const device = this.registry(registryId).get(deviceId);
    if (!device) throw new M2MError('DEVICE_NOT_FOUND', `device ${deviceId} is not registered in ${registryId}`, { field: 'deviceId' });
    // nodes without a registry see device ids too: theirs may be this device
    const alarms = this.alarmItems({ registry: registryId, deviceId }, true).sort(alarmOrder);
    const commands = this.commandItems({ registry: registryId, deviceId }, true);
    return { ...device, alarms, commands };
  }

  alarms(query: AlarmQuery): AlarmPage {
    if (query.registry !== undefined) this.registry(query.registry);
    const all = this.alarmItems(query).filter(
      (a) => (query.severity === undefined || a.severity === query.severity) && (query.acknowledged === undefined || a.acknowledged === query.acknowledged),
    );
    const counts = { unacknowledged: 0 } as AlarmPage['counts'];
    for (const severity of SEVERITIES) counts[severity] = 0;
    for (const alarm of all) {
      counts[alarm.severity]++;
      if (!alarm.acknowledged) counts.unacknowledged++;
    }
    return { ...page(all.sort(alarmOrder), query.offset, query.limit), counts };
  }

  /** ack, shelve, unshelve or reset one rule of a device (or, without `rule`, all its rules) on one rule node. */
  async controlAlarm(nodeId: string, request: AlarmControl): Promise<{ events: AlarmEvent[] }> {
    const source = this.directory.alarms.get(nodeId);
    if (!source) throw new M2MError('NODE_NOT_FOUND', `no m2m-rule node ${nodeId} is deployed`, { field: 'node' });
    if (request.rule !== undefined && !source.ruleNames().includes(request.rule)) {
      throw new M2MError('RULE_NOT_FOUND', `rule ${JSON.stringify(request.rule)} is not a rule of ${nodeId}`, { field: 'rule' });
    }
    if (!source.knows(request.deviceId)) throw new M2MError('DEVICE_NOT_FOUND', `${nodeId} knows no device ${request.deviceId}`, { field: 'deviceId' });
    const events = await source.control(request);
    if (events.length === 0) {
      throw new M2MError(
        'NO_TRANSITION',
        `${request.op} changed nothing: no alarm of ${request.deviceId}${request.rule ? ` for ${request.rule}` : ''} is in a state to ${request.op}`,
        { field: 'op' },
      );
    }
    return { events };
  }

  commands(query: CommandQuery): Page<CommandItem> {
    return page(this.commandItems(query), query.offset, query.limit);
  }

  cancelCommand(nodeId: string, commandId: string, by: string): { event: StatusEvent } {
    const source = this.directory.commands.get(nodeId);
    if (!source) throw new M2MError('NODE_NOT_FOUND', `no m2m-command node ${nodeId} is deployed`, { field: 'node' });
    const event = source.cancel(commandId, by);
    if (!event) throw new M2MError('COMMAND_NOT_FOUND', `command ${commandId} is not pending or queued on ${nodeId}`, { field: 'commandId' });
    return { event };
  }

  /** Every m2m-node's jobs: running ones first, then the newest first. */
  jobs(query: JobQuery): Page<JobItem> {
    const out: JobItem[] = [];
    for (const source of this.directory.jobs.values()) {
      for (const job of source.list()) {
        const running = job.state === 'in-progress' || job.state === 'paused';
        if (query.running === undefined || query.running === running) out.push({ id: job.jobId, node: source.id, ...job });
      }
    }
    const ended = (j: JobItem): number => Number(j.state !== 'in-progress' && j.state !== 'paused');
    return page(
      out.sort((a, b) => ended(a) - ended(b) || b.startedAt - a.startedAt),
      query.offset,
      query.limit,
    );
  }

  private registry(id: string): RegistrySource {
    const registry = this.directory.registries.get(id);
    if (!registry) throw new M2MError('NODE_NOT_FOUND', `no m2m-registry ${id} is deployed`, { field: 'registry' });
    return registry;
  }

  private alarmItems(filter: { registry?: string; deviceId?: string }, withUnbound = false): AlarmItem[] {
    const out: AlarmItem[] = [];
    for (const source of this.usingRegistry<AlarmSource>(this.directory.alarms, filter.registry, withUnbound)) {
      for (const alarm of source.list(filter.deviceId)) out.push({ node: source.id, ...alarm });
    }
    return out;
  }

  private commandItems(filter: { registry?: string; deviceId?: string }, withUnbound = false): CommandItem[] {
    const out: CommandItem[] = [];
    for (const source of this.usingRegistry<CommandSource>(this.directory.commands, filter.registry, withUnbound)) {
      for (const command of source.list(filter.deviceId)) out.push({ node: source.id, ...command });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Nodes using the registry, and with `withUnbound` also the nodes that use none. */
  private usingRegistry<T extends { registryId?: string }>(sources: Map<string, T>, registry: string | undefined, withUnbound: boolean): T[] {
    const all = [...sources.values()];
    return registry === undefined ? all : all.filter((s) => s.registryId === registry || (withUnbound && s.registryId === undefined));
  }
}
