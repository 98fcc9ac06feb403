import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { M2MError } from './errors';

// ajv compiles a schema to code; compiling per message is ruinous, so each distinct schema is compiled once
// and looked up by its JSON text. A changed schema has new text and is compiled afresh.
const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new Map<string, ValidateFunction>();
const MAX_CACHED = 1000;

export type JsonSchema = Record<string, unknown> | boolean;

export function compileSchema(schema: JsonSchema, field = 'schema'): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      throw new M2MError('INVALID_SCHEMA', `${field} is not a valid JSON Schema: ${(err as Error).message}`, { field });
    }
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value as string);
    compiled.set(key, validate);
  }
  return validate;
}

/** Lists ajv's errors by path, e.g. `/temperature must be <= 100`. */
export function describeSchemaErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const path = e.instancePath || '/';
    if (e.keyword === 'additionalProperties') {
      return `${path} must not have property "${String((e.params as { additionalProperty?: string }).additionalProperty)}"`;
    }
    if (e.keyword === 'required') {
      return `${path === '/' ? '' : path}/${String((e.params as { missingProperty?: string }).missingProperty)} is required`;
    }
    return `${path} ${e.message ?? 'is invalid'}`;
  });
}

/** Throws an M2MError with code `SCHEMA_VALIDATION` listing every failed path, if `value` fails `schema`. */
export function assertValid(schema: JsonSchema, value: unknown, field: string): void {
  const validate = compileSchema(schema, field);
  if (!validate(value)) {
    const problems = describeSchemaErrors(validate.errors);
    throw new M2MError('SCHEMA_VALIDATION', `${field} failed schema: ${problems.join('; ')}`, { field, details: problems });
  }
}
