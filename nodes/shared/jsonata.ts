import { M2MError } from '../../lib/errors';
import type { JsonataField } from '../../lib/config/jsonata-field';
import type { Node, NodeAPI, NodeMessage, PreparedJsonata } from './node-red';

// JSONata fields (m2m-telemetry's mapping, m2m-rule's thresholds): each expression prepared once at deploy with Node-RED's own
// RED.util.prepareJSONataExpression (a syntax error refuses the deploy, naming the field), then evaluated once per
// message against the whole msg with RED.util.evaluateJSONataExpression, the evaluator evaluateNodeProperty uses for
// a 'jsonata' property (which would compile the expression again on every message).

export class JsonataFields {
  private readonly prepared: ReadonlyArray<{ field: string; expression: PreparedJsonata }>;

  constructor(RED: NodeAPI, node: Node, all: readonly JsonataField[]) {
    this.prepared = all.map(({ field, expression }) => {
      try {
        return { field, expression: RED.util.prepareJSONataExpression(expression, node) };
      } catch (err) {
        throw new M2MError('INVALID_CONFIG', `${field} is not a valid JSONata expression: ${(err as Error).message}`, { field });
      }
    });
    this.evaluateOne = (expression, msg) =>
      new Promise((resolve, reject) => RED.util.evaluateJSONataExpression(expression, msg, (err, result) => (err ? reject(err) : resolve(result))));
  }

  private readonly evaluateOne: (expression: PreparedJsonata, msg: NodeMessage) => Promise<unknown>;

  get active(): boolean {
    return this.prepared.length > 0;
  }

  /** Each field's result for this message; an expression that fails to evaluate rejects with INVALID_PAYLOAD naming it. */
  async evaluate(msg: NodeMessage): Promise<Map<string, unknown>> {
    const results = new Map<string, unknown>();
    for (const { field, expression } of this.prepared) {
      try {
        results.set(field, await this.evaluateOne(expression, msg));
      } catch (err) {
        throw new M2MError('INVALID_PAYLOAD', `${field} (JSONata) failed on this message: ${(err as Error).message}`, { field });
      }
    }
    return results;
  }
}
