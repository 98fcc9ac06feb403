// The names the expressions of one node's rules use, interned once at compile time: metrics and attributes by
// index (the typed inputs an expression reads), and the windows shared by every rule naming the same one.
import type { ExprScope, WindowFn, WindowSpec } from './expr';
import { WindowSpecs } from './windows';

export class RuleScope implements ExprScope {
  readonly metrics: string[] = [];
  readonly attributes: string[] = [];
  readonly windows = new WindowSpecs();
  /** metrics whose last value some rule uses when a sample lacks them */
  readonly lastKnown = new Set<number>();

  metric(name: string): number {
    const i = this.metrics.indexOf(name);
    return i >= 0 ? i : this.metrics.push(name) - 1;
  }

  attribute(name: string): number {
    const i = this.attributes.indexOf(name);
    return i >= 0 ? i : this.attributes.push(name) - 1;
  }

  window(spec: WindowSpec, fn: WindowFn): number {
    // the window's metric is read from each sample like any other
    this.metric(spec.metric);
    return this.windows.intern(spec, fn);
  }

  get used(): boolean {
    return this.metrics.length > 0;
  }
}
