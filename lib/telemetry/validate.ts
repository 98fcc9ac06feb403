import type { ValidateFunction } from 'ajv';
import { M2MError } from '../errors';
import { compileSchema, describeSchemaErrors, type JsonSchema } from '../schema';
import type { Metrics } from './types';

// Each schema is compiled once: inline schemas when the node starts, a device type's telemetry schema the
// first time it is seen (keyed by the schema object, so a changed type, a new object, compiles afresh).

export type SchemaSource = (deviceId: string) => JsonSchema | undefined;

export class TelemetryValidator {
  private readonly byObject = new WeakMap<object, ValidateFunction>();
  private readonly inline?: ValidateFunction;

  constructor(
    inlineSchema?: JsonSchema,
    private readonly source?: SchemaSource,
  ) {
    if (inlineSchema !== undefined) this.inline = compileSchema(inlineSchema, 'schema');
  }

  get active(): boolean {
    return this.inline !== undefined || this.source !== undefined;
  }

  /** Throws SCHEMA_VALIDATION naming each failed path when the device's metrics do not fit its schema. */
  check(deviceId: string, payload: Metrics): void {
    const validate = this.inline ?? this.fromSource(deviceId);
    if (!validate || validate(payload)) return;
    const problems = describeSchemaErrors(validate.errors);
    throw new M2MError('SCHEMA_VALIDATION', `telemetry of ${deviceId} failed schema: ${problems.join('; ')}`, {
      field: validate.errors?.[0]?.instancePath.slice(1) || 'payload',
      details: problems,
    });
  }

  private fromSource(deviceId: string): ValidateFunction | undefined {
    const schema = this.source?.(deviceId);
    if (schema === undefined || schema === true) return undefined;
    if (typeof schema === 'boolean') return compileSchema(schema, 'telemetrySchema');
    let validate = this.byObject.get(schema);
    if (!validate) {
      validate = compileSchema(schema, 'telemetrySchema');
      this.byObject.set(schema, validate);
    }
    return validate;
  }
}
