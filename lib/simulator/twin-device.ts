import { isHostileKey, isPlainObject } from '../safe';

/** The command a twin sends a simulated device: its params are the delta, a JSON merge patch. */
export const SET_DESIRED = 'set-desired';
export const DEFAULT_REPORT_TOPIC = 'devices/{deviceId}/reported';

/**
 * What simulated devices hold of their twin: per device, the state it applied from `set-desired` commands, which it
 * reports back whole after each one (as a thermostat reports its setpoint and mode). Only devices that were sent
 * something take memory.
 */
export class TwinDeviceState {
  private readonly applied = new Map<string, Record<string, unknown>>();

  /** Applies a merge patch (null deletes a key) and returns the device's whole state, to report. */
  apply(deviceId: string, patch: Record<string, unknown> | undefined): Record<string, unknown> {
    const state = mergePatch(this.applied.get(deviceId) ?? {}, patch ?? {});
    this.applied.set(deviceId, state);
    return structuredClone(state);
  }

  /** The state a device has applied so far. */
  of(deviceId: string): Record<string, unknown> {
    return structuredClone(this.applied.get(deviceId) ?? {});
  }
}

function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (isHostileKey(key)) continue;
    if (value === null) delete out[key];
    else if (isPlainObject(value)) out[key] = mergePatch(isPlainObject(out[key]) ? out[key] : {}, value);
    else out[key] = structuredClone(value);
  }
  return out;
}
