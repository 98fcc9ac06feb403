// The part of FlowFuse Dashboard 2.0 (@flowfuse/node-red-dashboard) a widget node of this pack uses, typed, and
// the glue every widget shares: registration with the widget's ui-group, the rows pushed to the browsers as
// coalesced deltas, and the requests a browser sends (buttons, row clicks, "send me everything").
import fs from 'fs';
import path from 'path';
import { Coalescer } from '../../lib/admin/coalescer';
import { M2MError } from '../../lib/errors';
import { onInput } from './adapter';
import type { Node, NodeAPI, NodeDef, NodeMessage, SendFunction } from './node-red';

/** The ui-base node of a dashboard. */
interface DashboardBase {
  /** Sends a socket.io event to every browser showing the dashboard. */
  emit(event: string, msg: unknown, widgetNode: object): void;
  ui?: { widgets?: Map<string, { src?: unknown }> };
}

interface WidgetEvents {
  onAction: boolean;
  beforeSend(msg: NodeMessage): NodeMessage | null;
  onInput(msg: NodeMessage, send: SendFunction): void;
}

/** What the dashboard uses of a widget node when it registers: its id, and its input and close events. */
interface RegisteredWidget {
  id: string;
  type: string;
  name?: string;
  z?: string;
  on(event: string, listener: (...args: never[]) => void): void;
}

/** A ui-group node: a widget registers itself with its group. */
interface DashboardGroup {
  register(widget: RegisteredWidget, config: NodeDef, events: WidgetEvents): void;
  getBase(): DashboardBase;
}

/** What a browser asks the widget node for (`msg.m2mWidget` of a widget-action). */
export type WidgetRequest = Record<string, unknown> & { op: string };

export interface WidgetHandlers {
  /** A message wired into the widget; throw to fail it (a Catch node sees it). */
  onMessage(msg: NodeMessage): void;
  /** A browser's request; the message returned leaves the node's output (null: nothing). */
  onRequest(request: WidgetRequest, from: NodeMessage): NodeMessage | null;
  /** The whole state, for a browser that (re)loads the widget. */
  snapshot(): unknown;
  /** What changed since the last call, or undefined when nothing did. */
  delta(): unknown;
}

export interface Widget {
  /** Tells the browsers something changed; they get it with the next coalesced delta. */
  changed(): void;
  close(): void;
}

const PACKAGE_NAME = '@m2mflow/node-red-m2m';

interface WidgetSource {
  package: string;
  name: string;
  src: string;
  path: string;
  component: string;
}

/** This package's `node-red-dashboard-2` entry for a widget type, as the dashboard itself would read it. */
function widgetSource(type: string): WidgetSource | undefined {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      name?: string;
      'node-red-dashboard-2'?: { widgets?: Record<string, { output: string; component: string }> };
    };
    if (manifest.name !== PACKAGE_NAME) continue;
    const entry = manifest['node-red-dashboard-2']?.widgets?.[type];
    return entry && { package: PACKAGE_NAME, name: type, src: entry.output, path: dir, component: entry.component };
  }
  return undefined;
}

/** Who pressed the button: the dashboard user when the dashboard passes one, else `dashboard`. */
export function dashboardUser(msg: NodeMessage): string {
  const client = msg._client as { user?: { username?: unknown; name?: unknown } } | undefined;
  const name = client?.user?.username ?? client?.user?.name;
  return typeof name === 'string' && name !== '' ? name : 'dashboard';
}

/**
 * Registers the widget node with its ui-group. Messages wired in go to `onMessage` only: the browsers are told
 * at most once per `intervalMs` (a delta), not once per message. INVALID_CONFIG when the group is missing.
 *
 * The dashboard would also send every message wired in to every browser as it came; with an alarm storm that is
 * a thousand socket messages a second per browser. So the dashboard gets the node without its input: the node
 * takes its messages itself (one error path, Catch nodes see INVALID_PAYLOAD), and the browsers get the deltas.
 * The dashboard still removes the widget when the node closes, and sends a browser's actions from the node.
 */
export function registerWidget(RED: NodeAPI, node: Node, config: NodeDef, handlers: WidgetHandlers, intervalMs = 250): Widget {
  const group = RED.nodes.getNode(typeof config.group === 'string' ? config.group : '') as DashboardGroup | null;
  if (!group || typeof group.register !== 'function') {
    throw new M2MError('INVALID_CONFIG', `${node.type} needs a ui-group of a deployed Dashboard 2.0 (@flowfuse/node-red-dashboard)`, { field: 'group' });
  }
  const base = group.getBase();
  const push = (payload: unknown): void => base.emit(`msg-input:${node.id}`, { payload }, node);
  const coalescer = new Coalescer(() => {
    const delta = handlers.delta();
    if (delta !== undefined) push(delta);
  }, intervalMs);

  const events: WidgetEvents = {
    onAction: true,
    // a browser's widget-action: what this returns leaves the node's output
    beforeSend(msg) {
      const request = msg.m2mWidget as WidgetRequest | undefined;
      if (request === null || typeof request !== 'object' || typeof request.op !== 'string') return null;
      if (request.op === 'snapshot') {
        push(handlers.snapshot());
        return null;
      }
      return handlers.onRequest(request, msg);
    },
    onInput() {
      // messages wired in never reach the dashboard (see above)
    },
  };
  const registered: RegisteredWidget = {
    id: node.id,
    type: node.type,
    name: node.name,
    z: (config.z as string | undefined) ?? undefined,
    on(event, listener) {
      if (event === 'close') node.on('close', listener as unknown as (removed: boolean, done: () => void) => void);
    },
  };
  group.register(registered, config, events);
  onInput(node, (msg) => {
    handlers.onMessage(msg);
    coalescer.mark('rows');
  });

  // The dashboard finds a third-party widget's bundle through the package.json of the user directory, which
  // names only packages called node-red-dashboard-2-*; a widget of this pack would fall back to ui-template.
  const widget = base.ui?.widgets?.get(node.id);
  if (widget && !widget.src) widget.src = widgetSource(node.type);

  return {
    changed: () => coalescer.mark('rows'),
    close: () => coalescer.close(),
  };
}
