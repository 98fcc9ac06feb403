import { M2MError } from '../errors';

// Versioned node configs. A node's saved properties carry `version` (the editor's defaults set it); each node type
// lists the steps that bring an older shape up to date, and the same steps run at deploy (here) and when the node's
// edit dialog opens (the editor gets them from the script the build generates: lib/config/editor-script.ts).
// A config saved without `version` is version 0, the shape of the first release.

/** A node's saved properties, as Node-RED hands them to the node (and as the editor keeps them). */
export type SavedConfig = Record<string, unknown>;

/**
 * Brings a config from `version - 1` to `version`, changing it in place. A step runs in the editor too (as its
 * source text), so it must be self-contained: no imports, nothing from outside its own body.
 */
export interface MigrationStep {
  readonly version: number;
  up(config: SavedConfig): void;
}

export interface Migrated {
  config: SavedConfig;
  /** The version the config was saved with. */
  from: number;
  /** The version it has now: the last step's. */
  to: number;
}

/** The version configs are saved with today: the last step's, or 0 when the type has none. */
export function currentVersion(steps: readonly MigrationStep[]): number {
  return steps.length === 0 ? 0 : steps[steps.length - 1].version;
}

/** Steps numbered 1, 2, 3 … in order; checked once when a node type is defined, so a gap is a bug found by any test. */
export function checkSteps(type: string, steps: readonly MigrationStep[]): void {
  steps.forEach((step, i) => {
    if (step.version !== i + 1) throw new Error(`${type}: migration step ${i} has version ${step.version}, expected ${i + 1}`);
  });
}

/** The version a config was saved with; INVALID_CONFIG naming `version` when it is not a whole number ≥ 0. */
export function savedVersion(config: SavedConfig): number {
  const raw = config.version;
  if (raw === undefined || raw === null || raw === '') return 0;
  const version = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new M2MError('INVALID_CONFIG', `version must be a whole number 0 or more, got ${JSON.stringify(raw)}`, { field: 'version' });
  }
  return version;
}

/**
 * A copy of `config` brought up to the current version by the steps it has not had yet, in order. A config from a
 * newer release than this one is refused (INVALID_CONFIG naming `version`): its meaning is unknown here.
 */
export function migrateConfig(steps: readonly MigrationStep[], config: SavedConfig): Migrated {
  const from = savedVersion(config);
  const to = currentVersion(steps);
  if (from > to) {
    throw new M2MError(
      'INVALID_CONFIG',
      `version ${from} is a config saved by a newer release of @m2mflow/node-red-m2m (this release reads up to version ${to}): update the package, or import the flow into a Node-RED that has the newer release`,
      { field: 'version' },
    );
  }
  const migrated = structuredClone(config);
  for (const step of steps) {
    if (step.version > from) step.up(migrated);
  }
  migrated.version = to;
  return { config: migrated, from, to };
}
