import { M2MError } from '../errors';
import { assertValid, type JsonSchema } from '../schema';
import { checkDesiredPatch } from './desired';
import type { AttributeCondition, JobAction, JobRegistry, TargetSpec } from './types';

type DeviceLike = { id: string; type: string; tags: string[]; attributes: Record<string, unknown> };

const PAGE = 1000;

function compare(actual: unknown, c: AttributeCondition): boolean {
  if (c.op === 'exists') return actual !== undefined && actual !== null;
  if (c.op === 'eq') return actual === c.value;
  if (c.op === 'ne') return actual !== c.value;
  if (typeof actual !== typeof c.value || (typeof actual !== 'number' && typeof actual !== 'string')) return false;
  const a = actual as number | string;
  const b = c.value as number | string;
  return c.op === 'lt' ? a < b : c.op === 'lte' ? a <= b : c.op === 'gt' ? a > b : a >= b;
}

/** Whether a device matches a query target (a list target matches only its own devices). */
export function matchesTarget(target: TargetSpec, device: DeviceLike, online: boolean): boolean {
  if (target.kind === 'list') return target.devices.includes(device.id);
  if (target.type !== undefined && device.type !== target.type) return false;
  if (target.tags.some((t) => !device.tags.includes(t))) return false;
  if (target.online !== undefined && online !== target.online) return false;
  if (
    target.where &&
    !compare(
      Object.prototype.hasOwnProperty.call(device.attributes, target.where.attribute) ? device.attributes[target.where.attribute] : undefined,
      target.where,
    )
  )
    return false;
  return true;
}

/**
 * The devices a job goes to, resolved now. A list without a registry is taken as it is; with one, every listed
 * device must be registered. A query needs a registry. None: EMPTY_TARGET.
 */
export function resolveTargets(target: TargetSpec, registry: JobRegistry | undefined): string[] {
  let ids: string[];
  if (target.kind === 'list') {
    if (registry) {
      const missing = target.devices.filter((id) => !registry.get(id));
      if (missing.length)
        throw new M2MError('DEVICE_NOT_FOUND', `target.devices: ${missing.length} device(s) not registered: ${missing.slice(0, 5).join(', ')}`, {
          field: 'target.devices',
        });
    }
    ids = target.devices;
  } else {
    if (!registry)
      throw new M2MError('NO_REGISTRY', 'a target query needs an m2m-registry on the job node; or list the devices in target.devices', { field: 'registry' });
    ids = [];
    // the registry filters by type, one tag and presence; the rest is checked here
    const filter = { type: target.type, tag: target.tags[0], online: target.online, pageSize: PAGE };
    for (let page = 0; ; page++) {
      const { devices, total } = registry.list({ ...filter, page });
      for (const d of devices) if (matchesTarget(target, d, registry.isOnline(d.id))) ids.push(d.id);
      if ((page + 1) * PAGE >= total) break;
    }
  }
  if (ids.length === 0) throw new M2MError('EMPTY_TARGET', 'no device matches the job target: nothing was started', { field: 'target' });
  return ids;
}

/**
 * Refuses a command the targets' device types do not have, parameters failing the command's schema, or a desired
 * patch whose values fail the type's desiredSchema, before anything is sent (as m2m-command or the twin would refuse
 * it per device). Each device type is checked once.
 */
export function checkActionForTargets(action: JobAction, ids: readonly string[], registry: JobRegistry | undefined): void {
  if (!registry) return;
  if (action.kind === 'desired') {
    checkDesiredForTargets(action.patch, ids, registry);
    return;
  }
  const checked = new Set<string>();
  for (const id of ids) {
    const type = registry.get(id)?.type;
    if (type === undefined || checked.has(type)) continue;
    checked.add(type);
    const commands = registry.getType(type)?.commands;
    if (!commands || Object.keys(commands).length === 0) continue;
    const definition = Object.prototype.hasOwnProperty.call(commands, action.command) ? commands[action.command] : undefined;
    if (!definition) {
      throw new M2MError('UNKNOWN_COMMAND', `device type ${type} (of ${id}) has no command "${action.command}"; known: ${Object.keys(commands).join(', ')}`, {
        field: 'command',
      });
    }
    if (definition.paramsSchema === undefined) continue;
    assertValid(definition.paramsSchema as JsonSchema, action.params, `params of ${action.command} (device type ${type})`);
  }
}

function checkDesiredForTargets(patch: Record<string, unknown>, ids: readonly string[], registry: JobRegistry): void {
  const checked = new Set<string>();
  for (const id of ids) {
    const type = registry.get(id)?.type;
    if (type === undefined || checked.has(type)) continue;
    checked.add(type);
    const schema = registry.getType(type)?.desiredSchema;
    if (schema !== undefined) checkDesiredPatch(schema as JsonSchema, patch, `desired patch (desiredSchema of device type ${type}, checked for ${id})`);
  }
}
