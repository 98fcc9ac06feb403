// A stand-in for Dashboard 2.0's ui-group, doing what @flowfuse/node-red-dashboard does with a widget (ui_base.js):
// a message wired in runs beforeSend, then onInput, then goes to every browser as `msg-input:<id>`; a browser's
// widget-action runs beforeSend and sends what it returns from the widget's output. The browser test runs the
// real dashboard.
import type { Node, NodeAPI, NodeDef, NodeMessage, SendFunction } from '../../nodes/shared/node-red';
import { helper } from '../helpers/node-red';

interface Events {
  onAction: boolean;
  beforeSend(msg: NodeMessage): NodeMessage | null | Promise<NodeMessage | null>;
  onInput(msg: NodeMessage, send: SendFunction): void;
}

export interface Emitted {
  event: string;
  msg: { payload?: unknown } & NodeMessage;
}

export class DashboardStub {
  readonly emitted: Emitted[] = [];
  readonly widgets = new Map<string, { src?: unknown }>();
  private readonly events = new Map<string, Events>();

  readonly module = (RED: NodeAPI): void => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const stub = this;
    RED.nodes.registerType('ui-group', function (this: Node, config: NodeDef) {
      RED.nodes.createNode(this, config);
      const group = this as Node & Record<string, unknown>;
      group.register = (widget: Node, _config: NodeDef, events: Events): void => {
        stub.events.set(widget.id, events);
        stub.widgets.set(widget.id, {});
        widget.on('input', async (msg, send, done) => {
          try {
            const out = await events.beforeSend(msg);
            events.onInput(out as NodeMessage, send);
            if (out) stub.emitted.push({ event: `msg-input:${widget.id}`, msg: out });
            done();
          } catch (err) {
            done(err as Error);
          }
        });
      };
      group.getBase = () => ({ emit: (event: string, msg: Emitted['msg']) => stub.emitted.push({ event, msg }), ui: { widgets: stub.widgets } });
    });
  };

  /** A browser's widget-action, e.g. a button press. */
  async action(widgetId: string, msg: NodeMessage): Promise<void> {
    const events = this.events.get(widgetId);
    if (!events?.onAction) throw new Error(`${widgetId} takes no actions`);
    const out = await events.beforeSend(msg);
    (helper.getNode(widgetId) as unknown as { send(m: NodeMessage | null): void }).send(out);
  }

  /** Payloads the browsers got from the widget (snapshots and deltas, not the per-message marks). */
  updates(widgetId: string): Array<Record<string, unknown>> {
    return this.emitted.filter((e) => e.event === `msg-input:${widgetId}` && e.msg.payload !== undefined).map((e) => e.msg.payload as Record<string, unknown>);
  }
}
