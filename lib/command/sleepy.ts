// Sleepy devices (a device type with `sleepy: true`) listen only right after they send, like LoRaWAN class A
// devices: a command for one waits in the device's queue, with no reply timeout running, until the device is
// next heard, and then goes out at once, in order. The command's time to live (or the type's maxWaitMs) still ends it.

/** The part of the registry that tells sleepy devices apart and reports each uplink. */
export interface SleepyRegistry {
  get(id: string): { type: string; lastSeen?: number | null } | undefined;
  getType(name: string): { sleepy?: boolean; listenWindowMs?: number; maxWaitMs?: number } | undefined;
  /** Calls the listener on every uplink of a known device; returns the unsubscribe. */
  onSeen?(listener: (deviceId: string) => void): () => void;
}

export class SleepyDevices {
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly registry: SleepyRegistry | undefined) {}

  /** Whether a command for the device must wait for its next uplink: a sleepy type, outside its listening window. */
  asleep(deviceId: string): boolean {
    const type = this.typeOf(deviceId);
    if (type?.sleepy !== true) return false;
    const window = type.listenWindowMs ?? 0;
    const lastSeen = this.registry?.get(deviceId)?.lastSeen;
    return !(window > 0 && typeof lastSeen === 'number' && Date.now() - lastSeen <= window);
  }

  /** How long a command without a time to live of its own may wait for the device; 0 for no limit. */
  maxWaitMs(deviceId: string): number {
    const type = this.typeOf(deviceId);
    return type?.sleepy === true ? (type.maxWaitMs ?? 0) : 0;
  }

  /** Calls `onUplink` with the device id each time a device is heard (for every device: the caller keeps the queues). */
  watch(onUplink: (deviceId: string) => void): void {
    this.close();
    this.unsubscribe = this.registry?.onSeen?.(onUplink);
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private typeOf(deviceId: string): ReturnType<SleepyRegistry['getType']> {
    const device = this.registry?.get(deviceId);
    return device && this.registry?.getType(device.type);
  }
}
