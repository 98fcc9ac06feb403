import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { M2MError } from './errors';
import { compileLinear, type LinearRegExp, UnsupportedPattern } from './linear-regexp';

// ajv compiles a schema to code; compiling per message is ruinous, so each distinct schema is compiled once
// (at deploy: the registry compiles its device types, m2m-telemetry its inline schema) and looked up by its
// JSON text. A changed schema has new text and is compiled afresh.
//
// Schemas come from the flow's author, values from devices. Two things keep a hostile value from holding the
// flow: every `pattern` and `patternProperties` key runs on a linear-time matcher (lib/linear-regexp.ts)
// instead of V8's backtracking one, and a schema's size is bounded so that compiling it stays short.

/** Keywords, property names and array items in one schema; 2,000 compile in well under a second. */
export const MAX_SCHEMA_SIZE = 2000;
export const MAX_SCHEMA_DEPTH = 64;
const MAX_CACHED = 1000;

export type JsonSchema = Record<string, unknown> | boolean;

const patterns = new Map<string, LinearRegExp>();

/** ajv's `code.regExp` engine: every pattern ajv compiles goes through the linear matcher. */
const linearRegExp = Object.assign((pattern: string): LinearRegExp => checkedPattern(pattern, 'pattern'), { code: 'linearRegExp' });

const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: linearRegExp } });
// `format` (date-time, email, uri, uuid, ipv4, …) is checked rather than ignored; the fast mode's expressions
// are simple enough not to backtrack on device-controlled values.
addFormats(ajv, { mode: 'fast' });
const compiled = new Map<string, ValidateFunction>();

function remember<T>(cache: Map<string, T>, key: string, value: T): T {
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
  return value;
}

/** The pattern compiled for linear-time matching; UNSAFE_PATTERN or INVALID_SCHEMA naming `path` if it cannot be. */
function checkedPattern(pattern: string, path: string): LinearRegExp {
  const known = patterns.get(pattern);
  if (known) return known;
  try {
    return remember(patterns, pattern, compileLinear(pattern));
  } catch (err) {
    if (err instanceof UnsupportedPattern) {
      throw new M2MError(
        'UNSAFE_PATTERN',
        `${path}: the pattern ${JSON.stringify(pattern)} is refused because ${err.message}. Patterns run in time linear in the value; rewrite it without these constructs, or check the value in a function node`,
        { field: path },
      );
    }
    throw new M2MError('INVALID_SCHEMA', `${path}: ${JSON.stringify(pattern)} is not a valid regular expression (${(err as Error).message})`, { field: path });
  }
}

// Values of these keywords are data, not schemas: a `pattern` key inside them is not a regular expression.
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Walks the schema before ajv sees it (iteratively, so no depth can overflow the stack): bounds its size and
 * depth, and compiles every `pattern` and `patternProperties` key, naming the path of the first one refused.
 */
function checkSchemaShape(schema: JsonSchema, field: string): void {
  const stack: Array<{ value: unknown; path: string; depth: number; data: boolean }> = [{ value: schema, path: field, depth: 0, data: false }];
  let size = 0;
  while (stack.length > 0) {
    const { value, path, depth, data } = stack.pop() as (typeof stack)[number];
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_SCHEMA_DEPTH) {
      throw new M2MError('INVALID_SCHEMA', `${field} is nested more than ${MAX_SCHEMA_DEPTH} levels deep (at ${path})`, { field: path });
    }
    const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    size += entries.length;
    if (size > MAX_SCHEMA_SIZE) {
      throw new M2MError(
        'INVALID_SCHEMA',
        `${field} is too large: more than ${MAX_SCHEMA_SIZE} keywords, properties and items; split it between device types or simplify it`,
        { field },
      );
    }
    for (const [key, child] of entries) {
      const at = childPath(path, key);
      if (!data && key === 'pattern' && typeof child === 'string') checkedPattern(child, at);
      if (!data && key === 'patternProperties' && child !== null && typeof child === 'object' && !Array.isArray(child)) {
        for (const name of Object.keys(child)) checkedPattern(name, childPath(at, name));
      }
      stack.push({ value: child, path: at, depth: depth + 1, data: data || (typeof key === 'string' && DATA_KEYWORDS.has(key)) });
    }
  }
}

export function compileSchema(schema: JsonSchema, field = 'schema'): ValidateFunction {
  let key: string;
  try {
    key = JSON.stringify(schema);
  } catch (err) {
    throw new M2MError('INVALID_SCHEMA', `${field} is not JSON: ${(err as Error).message}`, { field });
  }
  const known = compiled.get(key);
  if (known) return known;
  checkSchemaShape(schema, field);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    if (err instanceof M2MError) throw err;
    throw new M2MError('INVALID_SCHEMA', `${field} is not a valid JSON Schema: ${(err as Error).message}`, { field });
  }
  return remember(compiled, key, validate);
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
