import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { M2MError } from '../errors';
import { checkSteps, currentVersion, migrateConfig, type MigrationStep, type SavedConfig } from './migrate';

// One reader per node type: the node's saved properties are migrated to today's shape, then read through a JSON
// Schema that holds every default, range and enum. The schema is compiled once, when the node type is defined.
// The editor saves text fields as strings, so values are coerced to the schema's types ("10" is 10, "true" is true);
// an empty or blank field of a number, boolean, list or object means "not set" and gets the default.

/** The schema of one saved property: plain JSON Schema (draft-07 keywords ajv knows). */
export type PropertySchema = Record<string, unknown>;

export interface NodeConfigSchema {
  type: 'object';
  properties: Record<string, PropertySchema>;
  required?: string[];
}

export interface NodeConfigSpec {
  /** The node type, e.g. `m2m-simulator`: named in every error. */
  type: string;
  /** Migration steps, versions 1, 2, 3 … in order; empty while the first release's shape is current. */
  steps: readonly MigrationStep[];
  schema: NodeConfigSchema;
}

export interface NodeConfig<T> extends NodeConfigSpec {
  /** The version a config is saved with today. */
  version: number;
  /**
   * The node's config migrated and read through the schema: only the schema's properties, defaults filled in,
   * values coerced. INVALID_CONFIG naming the first property that is wrong.
   */
  read(saved: SavedConfig): T;
  /** Each property's default, as the schema holds it (what the editor's defaults must say). */
  defaults(): Record<string, unknown>;
}

const ajv = new Ajv({ useDefaults: true, coerceTypes: true, removeAdditional: false, allErrors: false, strict: true, allowUnionTypes: true });

export function defineNodeConfig<T>(spec: NodeConfigSpec): NodeConfig<T> {
  checkSteps(spec.type, spec.steps);
  const version = currentVersion(spec.steps);
  const schema = { ...spec.schema, properties: { ...spec.schema.properties, version: { type: 'integer', minimum: 0, default: version } } };
  const validate = ajv.compile(schema);
  return {
    ...spec,
    version,
    read: (saved) => readWith<T>(spec, validate, migrateConfig(spec.steps, saved).config),
    defaults: () => {
      const out: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(schema.properties)) {
        if ('default' in property) out[name] = structuredClone(property.default);
      }
      return out;
    },
  };
}

/** Whether the property holds text; a number or boolean saved as text is read without surrounding blanks. */
function holdsText(property: PropertySchema): boolean {
  const type = property.type;
  return type === undefined || type === 'string' || (Array.isArray(type) && type.includes('string'));
}

/** An empty field means "not set" (the default) unless '' is a value of the property (text that may be empty). */
function emptyMeansUnset(property: PropertySchema): boolean {
  if (Array.isArray(property.enum)) return !property.enum.includes('');
  if (typeof property.minLength === 'number' && property.minLength > 0) return true;
  return !holdsText(property);
}

function readWith<T>(spec: NodeConfigSpec, validate: ValidateFunction, migrated: SavedConfig): T {
  const config: SavedConfig = {};
  for (const [name, property] of Object.entries({ ...spec.schema.properties, version: { type: 'integer' } })) {
    let value = migrated[name];
    if (!holdsText(property) && typeof value === 'string') value = value.trim();
    if (value === undefined || ((value === '' || value === null) && emptyMeansUnset(property))) continue;
    config[name] = value;
  }
  // without allErrors, the error that stopped validation is the last one (anyOf lists its branches' first)
  if (!validate(config)) throw configError(spec, (validate.errors ?? []).at(-1), config);
  return config as T;
}

/** `/metrics/0/min` → `metrics[0].min`. */
function propertyPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

function configError(spec: NodeConfigSpec, error: ErrorObject | undefined, config: SavedConfig): M2MError {
  const type = spec.type;
  if (!error) return new M2MError('INVALID_CONFIG', `${type} is not configured correctly`);
  const params = error.params as { missingProperty?: string; allowedValues?: unknown[] };
  const path = error.keyword === 'required' && error.instancePath === '' ? String(params.missingProperty) : propertyPath(error.instancePath);
  const field = path.split(/[.[]/)[0] || 'config';
  const described = spec.schema.properties[field]?.description;
  const what =
    error.keyword === 'enum'
      ? `must be one of ${(params.allowedValues ?? []).map(String).join(', ')}`
      : error.keyword === 'required'
        ? 'is required'
        : (error.keyword === 'anyOf' || error.keyword === 'oneOf') && typeof described === 'string' && path === field
          ? `must be ${described}`
          : (error.message ?? 'is not valid');
  const got = error.keyword === 'required' ? '' : `, got ${describeValue(valueAt(config, error.instancePath))}`;
  return new M2MError('INVALID_CONFIG', `${path} ${what}${got}`, { field });
}

function valueAt(config: SavedConfig, instancePath: string): unknown {
  let value: unknown = config;
  for (const part of instancePath.split('/').slice(1)) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  return value;
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}
