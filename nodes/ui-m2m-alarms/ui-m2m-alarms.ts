import { AlarmBoard, type AlarmRow, alarmControl } from '../../lib/dashboard/alarm-board';
import { rejectAllInput } from '../shared/adapter';
import { dashboardUser, registerWidget, type Widget } from '../shared/dashboard';
import type { Node, NodeAPI, NodeDef, NodeStatus } from '../shared/node-red';
import { ThrottledStatus } from '../shared/throttled-status';
import { ALARMS_WIDGET_CONFIG } from './config';

/** Node-RED's runtime events; `flows:started` follows every deploy, once every node of it exists. */
interface RuntimeEvents {
  on(event: 'flows:started', listener: () => void): void;
  off(event: 'flows:started', listener: () => void): void;
}

export = function (RED: NodeAPI): void {
  RED.nodes.registerType('ui-m2m-alarms', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let def;
    try {
      def = ALARMS_WIDGET_CONFIG.read(config);
    } catch (err) {
      rejectAllInput(node, err, 'invalid config');
      return;
    }
    const shelveFor = def.shelveFor;
    const board = new AlarmBoard(def.maxAlarms);
    // keys of alarms that came in unacknowledged since the browsers were last told: they flash (and beep)
    let fresh: string[] = [];

    const status = new ThrottledStatus(node, (): NodeStatus => {
      let unacked = 0;
      for (const row of board.rows.values()) if (row.state === 'unacknowledged') unacked++;
      const dropped = board.rows.dropped ? `, ${board.rows.dropped} dropped` : '';
      return {
        fill: unacked ? 'red' : board.rows.size ? 'yellow' : 'green',
        shape: 'dot',
        text: `${board.rows.size} active, ${unacked} unacknowledged${dropped}`,
      };
    });

    let widget: Widget;
    try {
      widget = registerWidget(RED, node, config, {
        onMessage(msg) {
          for (const row of board.apply(msg.payload) as AlarmRow[]) fresh.push(row.key);
          status.schedule();
        },
        onRequest(request, from) {
          if (request.op === 'list') return { topic: 'list' };
          return { ...alarmControl(request, shelveFor, dashboardUser(from)) };
        },
        snapshot: () => ({ ...board.rows.snapshot(), fresh: [] }),
        delta() {
          if (!board.rows.hasChanges()) return undefined;
          const delta = { ...board.rows.takeDelta(), fresh };
          fresh = [];
          return delta;
        },
      });
    } catch (err) {
      rejectAllInput(node, err, 'no dashboard group');
      return;
    }
    status.show();

    // After a deploy or restart the rule nodes keep their alarms but send no events for them: ask for the list.
    const events = (RED as NodeAPI & { events?: RuntimeEvents }).events;
    const askForList = (): void => {
      events?.off('flows:started', askForList);
      node.send({ topic: 'list' });
    };
    if (def.syncOnStart) events?.on('flows:started', askForList);

    node.on('close', (_removed, done) => {
      events?.off('flows:started', askForList);
      widget.close();
      status.stop();
      done();
    });
  });
};
