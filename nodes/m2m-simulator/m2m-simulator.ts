import { M2MError } from '../../lib/errors';
import { DeviceSimulator, type SimulatorMessage } from '../../lib/simulator';
import { checkDeviceId } from '../../lib/ids';
import { onInput, rejectAllInput } from '../shared/adapter';
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/node-red';
import { ThrottledStatus } from '../shared/throttled-status';
import { SIMULATOR_CONFIG } from './config';

function toMessage(m: SimulatorMessage): NodeMessage {
  const msg: NodeMessage = { topic: m.topic, payload: m.payload, deviceId: m.deviceId, qos: m.qos ?? 0 };
  if (m.correlationData) msg.correlationData = m.correlationData;
  return msg;
}

export = function (RED: NodeAPI): void {
  RED.nodes.registerType('m2m-simulator', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const status = new ThrottledStatus(node, () => {
      const c = simulator.counts();
      const devices = c.online === c.devices ? `${c.devices} devices` : `${c.online}/${c.devices} online`;
      return { fill: c.online > 0 ? 'green' : 'grey', shape: 'dot', text: `${devices} · ${c.telemetry + c.replies} msgs` };
    });

    let simulator: DeviceSimulator;
    try {
      const def = SIMULATOR_CONFIG.read(config);
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
      } else if (action !== undefined) {
        throw new M2MError('INVALID_FIELD', `msg.action must be "offline", "online" or "tick", got ${typeof action === 'string' ? JSON.stringify(action) : `a ${typeof action}`}`, { field: 'action' });
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
