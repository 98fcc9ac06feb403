import { DeviceBoard, deviceRow } from '../../lib/dashboard/device-board';
import { M2MError } from '../../lib/errors';
import { isDeviceId } from '../../lib/ids';
import type { DeviceEvent } from '../../lib/registry/types';
import { rejectAllInput } from '../shared/adapter';
import { registerWidget, type Widget } from '../shared/dashboard';
import type { Node, NodeAPI, NodeDef, NodeStatus } from '../shared/node-red';
import { optionalRegistry } from '../shared/registry-lookup';
import { ThrottledStatus } from '../shared/throttled-status';
import { DEVICES_WIDGET_CONFIG } from './config';

export = function (RED: NodeAPI): void {
  RED.nodes.registerType('ui-m2m-devices', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let def;
    let registry;
    try {
      def = DEVICES_WIDGET_CONFIG.read(config);
      registry = optionalRegistry(RED, def.registry);
    } catch (err) {
      rejectAllInput(node, err, 'invalid config');
      return;
    }
    const reg = registry;
    const board = new DeviceBoard(def.maxDevices);
    // uplinks mark a device seen without a device event: its row is read again when the browsers are next told
    const seen = new Set<string>();

    const status = new ThrottledStatus(node, (): NodeStatus => {
      let online = 0;
      for (const row of board.rows.values()) if (row.online) online++;
      const dropped = board.rows.dropped ? `, ${board.rows.dropped} dropped` : '';
      return { fill: 'green', shape: board.rows.size ? 'dot' : 'ring', text: `${board.rows.size} devices, ${online} online${dropped}` };
    });

    let widget: Widget;
    try {
      widget = registerWidget(RED, node, config, {
        onMessage(msg) {
          board.applyMessage(msg);
          status.schedule();
        },
        onRequest(request) {
          if (request.op !== 'select' || !isDeviceId(request.deviceId)) {
            throw new M2MError('INVALID_PAYLOAD', 'the widget asked for an unknown device operation', { field: 'op' });
          }
          const id = request.deviceId;
          const record = reg?.get(id);
          const row = record ? deviceRow(record) : board.rows.get(id);
          if (!row) return null;
          return { topic: `device/${id}`, deviceId: id, payload: record ?? { ...row, key: undefined } };
        },
        snapshot: () => board.rows.snapshot(),
        delta() {
          for (const id of seen) {
            const record = reg?.get(id);
            if (record) board.put(record);
          }
          seen.clear();
          return board.rows.hasChanges() ? board.rows.takeDelta() : undefined;
        },
      });
    } catch (err) {
      rejectAllInput(node, err, 'no dashboard group');
      return;
    }
    status.show();

    let closed = false;
    const onDevice = (e: DeviceEvent): void => {
      if (e.event === 'removed') board.remove(e.deviceId);
      else board.put(e.device);
      widget.changed();
      status.schedule();
    };
    let stopSeen: (() => void) | undefined;
    if (reg) {
      const capacity = def.maxDevices;
      // the registry's devices once it has loaded them (a Redis store may come later), then its events
      reg.whenLoaded().then(
        () => {
          if (closed) return;
          for (let page = 0, total = Infinity; page * 1000 < Math.min(total, capacity); page++) {
            const listed = reg.list({ page, pageSize: 1000 });
            total = listed.total;
            for (const device of listed.devices) board.put(device);
          }
          reg.on('device', onDevice);
          stopSeen = reg.onSeen((id) => {
            seen.add(id);
            widget.changed();
          });
          widget.changed();
          status.show();
        },
        () => node.status({ fill: 'red', shape: 'ring', text: 'store unavailable' }),
      );
    }

    node.on('close', (_removed, done) => {
      closed = true;
      reg?.off('device', onDevice);
      stopSeen?.();
      widget.close();
      status.stop();
      done();
    });
  });
};
