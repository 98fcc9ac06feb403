import { M2MError } from '../../lib/errors';
import type { DeviceRegistryApi } from '../../lib/registry/types';
import { decoderConfigFromNode, type SchemaSource, TelemetryDecoder, telemetryMessages } from '../../lib/telemetry';
import { onInput, rejectAllInput } from '../shared/adapter';
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/node-red';
import { optionalRegistry } from '../shared/registry-lookup';
import { ThrottledStatus } from '../shared/throttled-status';
import { TELEMETRY_CONFIG } from './config';

function registrySchemas(registry: DeviceRegistryApi): SchemaSource {
  return (deviceId) => {
    const device = registry.get(deviceId);
    return device ? registry.getType(device.type)?.telemetrySchema : undefined;
  };
}

export = function (RED: NodeAPI): void {
  RED.nodes.registerType('m2m-telemetry', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let decoder: TelemetryDecoder;
    let rejectOutput: boolean;
    try {
      const def = TELEMETRY_CONFIG.read(config);
      rejectOutput = def.rejectOutput;
      const registry = def.validation === 'registry' ? optionalRegistry(RED, def.registry) : undefined;
      decoder = new TelemetryDecoder(decoderConfigFromNode(def, registry && registrySchemas(registry)));
    } catch (err) {
      rejectAllInput(node, err);
      return;
    }

    let decoded = 0;
    const status = new ThrottledStatus(node, () => ({ fill: 'green', shape: 'dot', text: `${decoder.format}: ${decoded} msgs` }));
    node.status({ fill: 'grey', shape: 'ring', text: decoder.format });

    onInput(node, (msg, send) => {
      let output;
      try {
        output = decoder.decode({ payload: msg.payload, topic: msg.topic, deviceId: msg.deviceId, format: msg.format });
      } catch (err) {
        if (rejectOutput && err instanceof M2MError) {
          const rejected = RED.util.cloneMessage(msg);
          rejected.error = { message: err.message, code: err.code, field: err.field, details: err.details };
          send([null, rejected]);
        }
        throw err; // onInput: red status, msg.error, done(err) for Catch nodes
      }
      const messages = telemetryMessages<NodeMessage>(msg, output, RED.util.cloneMessage);
      const rebirth = output.rebirth
        ? { topic: output.rebirth.topic, payload: output.rebirth.payload, sparkplug: { rebirth: true, reason: output.rebirth.reason } }
        : null;
      if (messages.length > 0 || rebirth) {
        send([messages.length === 1 ? messages[0] : messages.length > 1 ? messages : null, rebirth]);
      }
      decoded += messages.length;
      status.schedule();
    });

    node.on('close', (_removed, done) => {
      status.stop();
      done();
    });
  });
};
