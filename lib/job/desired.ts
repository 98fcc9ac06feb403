import { assertValid, type JsonSchema } from '../schema';
import { isPlainObject } from '../safe';

// A desired-state job sends the same merge patch to every device, whose twin merges it into that device's desired
// document and checks the result against its type's desiredSchema. The job cannot see each device's document
// before it starts, so it checks what holds for every device: each value the patch sets must fit the schema where it
// lands. `required` (and minProperties, dependentRequired) is left out, since the rest of the document is the
// device's; a null (a deletion) is left out too. What this cannot see (a deletion of a required key) the twin refuses
// per device, and that device's execution ends `rejected`.

const DROPPED = new Set(['required', 'minProperties', 'dependentRequired']);
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const SCHEMA_ONE = new Set([
  'additionalProperties',
  'unevaluatedProperties',
  'items',
  'additionalItems',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
]);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items']);

/** The schema a patch's values must fit: the same schema without its required-key constraints, at every level. */
export function patchSchema(schema: JsonSchema): JsonSchema {
  if (!isPlainObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key)) continue;
    if (SCHEMA_MAPS.has(key) && isPlainObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, patchSchema(s as JsonSchema)]));
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      out[key] = value.map((s) => patchSchema(s as JsonSchema));
    } else if (SCHEMA_ONE.has(key) && (isPlainObject(value) || typeof value === 'boolean')) {
      out[key] = patchSchema(value as JsonSchema);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The patch without its deletions (null values), at every level. */
function withoutDeletions(value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== null) out[key] = withoutDeletions(v);
  return out;
}

/** Throws SCHEMA_VALIDATION when a value of the patch cannot fit the device type's desiredSchema. */
export function checkDesiredPatch(schema: JsonSchema, patch: Record<string, unknown>, label: string): void {
  assertValid(patchSchema(schema), withoutDeletions(patch), label);
}
