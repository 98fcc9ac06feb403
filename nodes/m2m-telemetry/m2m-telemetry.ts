import { M2MError } from '../../lib/errors';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { type DecodeInput, type DecodeOutput, decoderConfigFromNode, type SchemaSource, TelemetryDecoder, telemetryMessages } from '../../lib/telemetry';
import { toParsed } from '../../lib/telemetry/input';
import { decodeInputWith, jsonataFieldsOf, type MessageFields, messageFields } from '../../lib/telemetry/node-config';
import { deviceIdOf, onInput, rejectAllInput } from '../shared/adapter';
import type { Node, NodeAPI, NodeDef, NodeMessage, SendFunction as Send } from '../shared/node-red';
import { optionalRegistry } from '../shared/registry-lookup';
import { ThrottledStatus } from '../shared/throttled-status';
import { TELEMETRY_CONFIG } from './config';
import { JsonataFields } from '../shared/jsonata';

function registrySchemas(registry: DeviceRegistryApi): SchemaSource {
  return (deviceId) => {
    const device = registry.get(deviceId);
    return device ? registry.getType(device.type)?.telemetrySchema : undefined;
  };
}

const JSON_FORMATS: ReadonlySet<unknown> = new Set(['json', 'ttn', 'chirpstack']);

/** msg, with its payload parsed when the format reads JSON and it came as text or bytes (a shallow copy then). */
function jsonPayloadParsed(msg: NodeMessage, decoder: TelemetryDecoder): NodeMessage {
  const format = msg.format ?? decoder.format;
  if (!JSON_FORMATS.has(format) || (msg.payload !== null && typeof msg.payload === 'object' && !Buffer.isBuffer(msg.payload))) return msg;
  return { ...msg, payload: toParsed(msg.payload, decoder.limits) };
}

export = function (RED: NodeAPI): void {
  RED.nodes.registerType('m2m-telemetry', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let decoder: TelemetryDecoder;
    let rejectOutput: boolean;
    let fields: MessageFields;
    let jsonata: JsonataFields;
    try {
      const def = TELEMETRY_CONFIG.read(config);
      rejectOutput = def.rejectOutput;
      const registry = def.validation === 'registry' ? optionalRegistry(RED, def.registry) : undefined;
      decoder = new TelemetryDecoder(decoderConfigFromNode(def, registry && registrySchemas(registry)));
      fields = messageFields(def);
      jsonata = new JsonataFields(RED, node, jsonataFieldsOf(fields));
    } catch (err) {
      rejectAllInput(node, err);
      return;
    }

    let decoded = 0;
    const status = new ThrottledStatus(node, () => ({ fill: 'green', shape: 'dot', text: `${decoder.format}: ${decoded} msgs` }));
    node.status({ fill: 'grey', shape: 'ring', text: decoder.format });

    const input = (msg: NodeMessage): DecodeInput => ({ payload: msg.payload, topic: msg.topic, deviceId: msg.deviceId, format: msg.format });
    const reject = (msg: NodeMessage, send: Send, err: unknown): never => {
      if (rejectOutput && err instanceof M2MError) {
        const rejected = RED.util.cloneMessage(msg);
        rejected.error = { message: err.message, code: err.code, field: err.field, details: err.details };
        send([null, rejected]);
      }
      throw err; // onInput: red status, msg.error, done(err) for Catch nodes
    };
    const decode = (msg: NodeMessage, send: Send): DecodeOutput => {
      try {
        return decoder.decode(input(msg));
      } catch (err) {
        return reject(msg, send, err);
      }
    };
    /** With JSONata fields: the expressions see msg with a JSON payload parsed (once, handed on to the decoder). */
    const decodeWithJsonata = async (msg: NodeMessage, send: Send): Promise<DecodeOutput> => {
      try {
        const seen = jsonPayloadParsed(msg, decoder);
        const evaluated = await jsonata.evaluate(seen);
        return decoder.decode(decodeInputWith(fields, input(seen), evaluated, decoder.limits));
      } catch (err) {
        return reject(msg, send, err);
      }
    };

    const forward = (msg: NodeMessage, send: Send, output: DecodeOutput): void => {
      const messages = telemetryMessages<NodeMessage>(msg, output, RED.util.cloneMessage);
      const rebirth = output.rebirth
        ? { topic: output.rebirth.topic, payload: output.rebirth.payload, sparkplug: { rebirth: true, reason: output.rebirth.reason } }
        : null;
      if (messages.length === 1 && !rebirth)
        send(messages[0]); // the usual case: one record, a plain send
      else if (messages.length > 0 || rebirth) {
        send([messages.length === 1 ? messages[0] : messages.length > 1 ? messages : null, rebirth]);
      }
      const skipped = output.sparkplug?.skipped;
      if (messages.length === 0 && skipped?.length)
        node.warn(
          `sparkplug: no telemetry from ${String(msg.topic)}: ${skipped
            .map((m) => `${m.name} (${m.reason})`)
            .join(', ')
            .slice(0, 300)}`,
        );
      decoded += messages.length;
      status.schedule();
    };

    if (jsonata.active) {
      // evaluated asynchronously: one queue for the node keeps the messages in the order they came
      onInput(node, async (msg, send) => forward(msg, send, await decodeWithJsonata(msg, send)), { orderBy: () => 'all' });
    } else {
      onInput(node, (msg, send) => forward(msg, send, decode(msg, send)), { orderBy: deviceIdOf });
    }

    node.on('close', (_removed, done) => {
      status.stop();
      done();
    });
  });
};
