import type { Node, NodeStatus } from './node-red';

/**
 * A node's status badge, redrawn at most once per `everyMs` however many messages pass, so a burst does not
 * flood the editor with status updates. `render` returns undefined when there is nothing to show yet.
 */
export class ThrottledStatus {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly node: Node,
    private readonly render: () => NodeStatus | undefined,
    private readonly everyMs = 1000,
  ) {}

  /** Redraws within `everyMs`. */
  schedule(): void {
    this.timer ??= setTimeout(() => this.show(), this.everyMs);
  }

  /** Redraws now. */
  show(): void {
    this.stop();
    const status = this.render();
    if (status) this.node.status(status);
  }

  /** Cancels a pending redraw; call on close. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
