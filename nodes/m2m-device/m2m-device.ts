import { isPlainObject } from '../../lib/safe';
import { runOperation, takeToken, type OperationOptions } from '../../lib/registry/operations';
import type { DeviceEvent, DeviceEventName } from '../../lib/registry/types';
import { onInput, rejectAllInput } from '../shared/adapter';
import type { Node, NodeAPI, NodeDef, NodeMessage, SendFunction } from '../shared/node-red';
import { lookupRegistry } from '../shared/registry-lookup';
import { ThrottledStatus } from '../shared/throttled-status';
import { DEVICE_CONFIG, type DeviceConfig } from './config';

/** The device a message is about, found as runOperation finds it, so that e.g. a register and the touches after it keep their order. */
function deviceOf(msg: NodeMessage): string | undefined {
  const body = isPlainObject(msg.payload) ? msg.payload : undefined;
  const id = msg.deviceId ?? body?.id ?? body?.deviceId;
  return typeof id === 'string' ? id : undefined;
}

export = function (RED: NodeAPI): void {
  RED.nodes.registerType('m2m-device', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let def: DeviceConfig;
    try {
      def = DEVICE_CONFIG.read(config);
    } catch (err) {
      rejectAllInput(node, err);
      return;
    }
    const options: OperationOptions = {
      upsert: def.upsert,
      issueToken: def.issueToken,
      autoRegister: def.autoRegister,
      autoType: def.autoType,
      pageSize: def.pageSize,
    };
    const resultTo = def.resultTo;
    const wanted = new Set(def.events.split(',').filter(Boolean) as DeviceEventName[]);

    let registry;
    try {
      registry = lookupRegistry(RED, def.registry);
    } catch (err) {
      rejectAllInput(node, err, 'no registry');
      return;
    }
    const reg = registry;

    const status = new ThrottledStatus(node, () => {
      const { devices, online } = reg.counts();
      return { fill: 'green', shape: 'dot', text: `${devices} devices, ${online} online` };
    });

    const onDeviceEvent = (e: DeviceEvent): void => {
      status.schedule();
      if (!wanted.has(e.event)) return;
      node.send([null, { topic: `device/${e.deviceId}/${e.event}`, deviceId: e.deviceId, event: e.event, payload: e }]);
    };
    reg.on('device', onDeviceEvent);
    reg.ready().then(
      () => status.show(),
      () => node.status({ fill: 'red', shape: 'ring', text: 'store unavailable' }),
    );

    // msg.device and the like are set directly; a path such as `result.device` goes through Node-RED's parser
    const resultIsProperty = /^[A-Za-z_$][\w$]*$/.test(resultTo) && resultTo !== '__proto__';
    const setResult = (msg: NodeMessage, value: unknown): void => {
      if (resultIsProperty) msg[resultTo] = value;
      else RED.util.setMessageProperty(msg, resultTo, value, true);
    };

    /** The per-message path: a touch of a device the loaded registry knows, synchronously. False when it is not known. */
    const touchKnown = (msg: NodeMessage, send: SendFunction, deviceId: string): boolean => {
      const device = reg.touchKnown(deviceId);
      if (!device) return false;
      msg.operation = 'touch';
      setResult(msg, device);
      msg.deviceId = device.id;
      send(msg);
      status.schedule();
      return true;
    };

    const operate = async (msg: NodeMessage, send: SendFunction, operation: unknown): Promise<void> => {
      const token = operation === 'verify' ? takeToken(msg) : msg.token;
      await reg.ready();
      const result = await runOperation(reg, { operation, deviceId: msg.deviceId, payload: msg.payload, token, topic: msg.topic, at: msg.at }, options);
      msg.operation = result.operation;
      setResult(msg, result.payload);
      if ('deviceId' in result.payload || 'id' in result.payload) {
        msg.deviceId = 'id' in result.payload ? result.payload.id : result.payload.deviceId;
      }
      if (result.operation === 'register') {
        msg.created = result.created;
        if (result.token) msg.token = result.token;
      }
      if (result.operation === 'online' || result.operation === 'offline') {
        msg.changed = result.changed;
        if (result.source) msg.presenceSource = result.source;
      }
      send(msg);
      status.schedule();
    };

    onInput(
      node,
      (msg, send) => {
        const operation = msg.operation ?? (def.operation || undefined);
        if (operation === 'touch' && typeof msg.deviceId === 'string' && touchKnown(msg, send, msg.deviceId)) return;
        return operate(msg, send, operation);
      },
      { orderBy: deviceOf },
    );

    node.on('close', (_removed, done) => {
      reg.off('device', onDeviceEvent);
      status.stop();
      done();
    });
  });
};
