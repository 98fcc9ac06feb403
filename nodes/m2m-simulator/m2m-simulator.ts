import { M2MError } from '../../lib/errors';
import { DeviceSimulator, type SimulatorMessage } from '../../lib/simulator';
import { checkDeviceId } from '../../lib/ids';
import { isPlainObject } from '../../lib/safe';
import { onInput, rejectAllInput } from '../shared/adapter';
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/node-red';
import { ThrottledStatus } from '../shared/throttled-status';
import { SIMULATOR_CONFIG } from './config';
import { runSimulatedEdge } from '../m2m-sparkplug-host/simulated-edge';

function toMessage(m: SimulatorMessage): NodeMessage {
  const msg: NodeMessage = { topic: m.topic, payload: m.payload, deviceId: m.deviceId, qos: m.qos ?? 0 };
  if (m.correlationData) msg.correlationData = m.correlationData;
  if (m.responseTopic) msg.responseTopic = m.responseTopic;
  return msg;
}

/** msg.action "provision": the device msg.deviceId, or every simulated device, asks m2m-provision for a credential. */
function enrol(simulator: DeviceSimulator, msg: NodeMessage): void {
  const body = isPlainObject(msg.payload) ? msg.payload : {};
  const { provisionKey, provisionSecret, attributes } = body;
  if (typeof provisionKey !== 'string' || typeof provisionSecret !== 'string') {
    throw new M2MError('INVALID_FIELD', 'msg.payload must hold provisionKey and provisionSecret for msg.action "provision"', { field: 'payload' });
  }
  const ids = msg.deviceId === undefined || msg.deviceId === '' ? simulator.ids : [checkDeviceId(msg.deviceId, 'msg.deviceId')];
  simulator.provisioning.enrol(ids, {
    provisionKey,
    provisionSecret,
    attributes: isPlainObject(attributes) ? attributes : undefined,
    mqtt5: body.mqtt5 === true,
  });
}

export = function (RED: NodeAPI): void {
  RED.nodes.registerType('m2m-simulator', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const status = new ThrottledStatus(node, () => {
      const c = simulator.counts();
      const devices = c.online === c.devices ? `${c.devices} devices` : `${c.online}/${c.devices} online`;
      const enrolled = simulator.provisioning.counts().enrolled;
      return {
        fill: c.online > 0 ? 'green' : 'grey',
        shape: 'dot',
        text: `${devices} · ${c.telemetry + c.replies} msgs${enrolled > 0 ? ` · ${enrolled} enrolled` : ''}`,
      };
    });

    let simulator: DeviceSimulator;
    try {
      const def = SIMULATOR_CONFIG.read(config);
      if (def.format === 'sparkplug') {
        runSimulatedEdge(node, def);
        return;
      }
      const seed = def.seed === '' ? undefined : def.seed;
      simulator = new DeviceSimulator({
        devices: def.devices,
        idPrefix: def.idPrefix,
        intervalMs: def.interval * 1000,
        format: def.format,
        metrics: def.metrics,
        topic: def.topic,
        commandTopic: def.commandTopic,
        replyTopic: def.replyTopic,
        reportTopic: def.reportTopic,
        latencyMs: def.latency,
        jitterMs: def.jitter,
        failureRatio: def.failureRatio,
        seed: /^\d+$/.test(seed ?? '') ? Number(seed) : seed,
        publish: (m) => {
          node.send(toMessage(m));
          status.schedule();
        },
        publishBatch: (messages) => {
          if (messages.length > 0) node.send([messages.map(toMessage)]);
          status.schedule();
        },
      });
    } catch (err) {
      rejectAllInput(node, err);
      return;
    }
    simulator.start();
    status.show();

    onInput(node, (msg) => {
      const action = msg.action;
      if (action === 'offline' || action === 'online') {
        const deviceId = msg.deviceId === undefined || msg.deviceId === '' ? undefined : checkDeviceId(msg.deviceId, 'msg.deviceId');
        const forMs = typeof msg.forMs === 'number' || typeof msg.forMs === 'string' ? Number(msg.forMs) || 0 : 0;
        simulator.setOnline(deviceId, action === 'online', forMs);
      } else if (action === 'tick') {
        simulator.tick();
      } else if (action === 'provision') {
        enrol(simulator, msg);
      } else if (action !== undefined) {
        throw new M2MError(
          'INVALID_FIELD',
          `msg.action must be "offline", "online", "tick" or "provision", got ${typeof action === 'string' ? JSON.stringify(action) : `a ${typeof action}`}`,
          { field: 'action' },
        );
      } else if (simulator.provisioning.isAnswer(msg.topic)) {
        simulator.provisioning.answer(msg.topic as string, msg.payload, msg.correlationData);
      } else {
        simulator.command({ topic: msg.topic, payload: msg.payload, responseTopic: msg.responseTopic, correlationData: msg.correlationData });
      }
      status.schedule();
    });

    node.on('close', (_removed, done) => {
      simulator.close();
      status.stop();
      done();
    });
  });
};
