import type { AlarmSource, CommandSource, JobSource, RegistrySource, SourceKind } from './types';

/** What a node gets back when it registers: tell the editor it changed, and leave on close. */
export interface Listing {
  changed(): void;
  remove(): void;
}

type Listener = (kind: SourceKind) => void;

/**
 * The live m2m-registry, m2m-rule and m2m-command nodes of this process, by node id, for the admin API.
 * A node registers when it starts and removes itself on close; on a redeploy the new instance replaces the old.
 */
export class AdminDirectory {
  readonly registries = new Map<string, RegistrySource>();
  readonly alarms = new Map<string, AlarmSource>();
  readonly commands = new Map<string, CommandSource>();
  readonly jobs = new Map<string, JobSource>();
  private readonly listeners = new Set<Listener>();

  addRegistry(source: RegistrySource): Listing {
    return this.add(this.registries, 'devices', source);
  }

  addAlarms(source: AlarmSource): Listing {
    return this.add(this.alarms, 'alarms', source);
  }

  addCommands(source: CommandSource): Listing {
    return this.add(this.commands, 'commands', source);
  }

  addJobs(source: JobSource): Listing {
    return this.add(this.jobs, 'jobs', source);
  }

  /** Called with the kind of whatever changed; returns the function that stops listening. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private add<T extends { id: string }>(map: Map<string, T>, kind: SourceKind, source: T): Listing {
    map.set(source.id, source);
    const changed = (): void => {
      if (map.get(source.id) === source) this.emit(kind);
    };
    changed();
    return {
      changed,
      remove: () => {
        // an old instance closing after its replacement started must not take the new one out
        if (map.get(source.id) !== source) return;
        map.delete(source.id);
        this.emit(kind);
      },
    };
  }

  private emit(kind: SourceKind): void {
    for (const listener of this.listeners) listener(kind);
  }
}

/** One directory per process: Node-RED runs one runtime per process. */
export const adminDirectory = new AdminDirectory();
