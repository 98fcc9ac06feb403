import { runTwinOperation } from '../../lib/twin/operations';
import { twinsOf, type TwinEvent, type TwinService } from '../../lib/twin/twin';
import { onInput, rejectAllInput } from '../shared/adapter';
import type { Node, NodeAPI, NodeDef, NodeStatus } from '../shared/node-red';
import { lookupRegistry } from '../shared/registry-lookup';
import { ThrottledStatus } from '../shared/throttled-status';
import { TWIN_CONFIG } from './config';

export = function (RED: NodeAPI): void {
  RED.nodes.registerType('m2m-twin', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let def;
    let registry;
    try {
      def = TWIN_CONFIG.read(config);
      registry = lookupRegistry(RED, def.registry);
    } catch (err) {
      rejectAllInput(node, err, 'invalid config');
      return;
    }
    const reg = registry;
    const configured = def.operation;

    let last: NodeStatus = { fill: 'green', shape: 'ring', text: 'ready' };
    const status = new ThrottledStatus(node, () => last);
    const onTwin = (e: TwinEvent): void => {
      const payload = {
        event: e.event,
        deviceId: e.deviceId,
        delta: structuredClone(e.delta),
        desiredVersion: e.desiredVersion,
        reportedVersion: e.reportedVersion,
        ts: e.ts,
      };
      node.send([null, { topic: `twin/${e.deviceId}/${e.event}`, deviceId: e.deviceId, event: e.event, payload }]);
    };
    const onWarning = (text: string): void => node.warn(text);

    // one service per registry, shared with the other m2m-twin nodes on it; waits for the store however long it takes
    let closed = false;
    let service: TwinService | undefined;
    twinsOf(reg).then(
      (s) => {
        if (closed) return;
        service = s;
        s.on('twin', onTwin);
        s.on('warning', onWarning);
        status.show();
      },
      () => node.status({ fill: 'red', shape: 'ring', text: 'store unavailable' }),
    );

    onInput(node, async (msg, send) => {
      await reg.ready(); // fails at once with STORE_UNAVAILABLE while the store cannot be reached
      const twins = service ?? (await twinsOf(reg));
      const result = await runTwinOperation(twins, {
        operation: msg.operation ?? configured,
        deviceId: msg.deviceId,
        payload: msg.payload,
        ifVersion: msg.ifVersion,
      });
      msg.operation = result.operation;
      msg.changed = result.changed;
      // the twin's documents are shared with the store: the flow gets its own copy to change
      msg.payload = structuredClone(result.twin);
      send([msg, null]);
      const { deviceId, delta, desiredVersion, reportedVersion } = result.twin;
      const pending = Object.keys(delta).length;
      last = {
        fill: pending === 0 ? 'green' : 'yellow',
        shape: 'dot',
        text: `${deviceId}: ${pending === 0 ? 'in sync' : `delta ${pending}`} (d${desiredVersion}/r${reportedVersion})`,
      };
      status.schedule();
    });

    node.on('close', (_removed, done) => {
      closed = true;
      service?.off('twin', onTwin);
      service?.off('warning', onWarning);
      status.stop();
      done();
    });
  });
};
