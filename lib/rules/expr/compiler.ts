// Turns a parsed expression into closures over typed inputs: the sample's metrics and the device's attributes as
// Float64Arrays by index (NaN: absent), and the device's windows through one accessor. Names are interned into
// the caller's scope at compile time, so evaluation never looks a name up and can reach nothing else.
// Booleans are 1 and 0. NaN means "not known" (an absent metric, an empty window) and spreads, except that
// `false and x` is false and `true or x` is true; a rule whose condition comes out NaN is not evaluated.
import { isHostileKey } from '../../safe';
import { type CompareSymbol, ExprError, type Node, parseExpression, type WindowFn } from './parser';

export const MAX_WINDOW_MS = 24 * 3600 * 1000;
export const MAX_WINDOW_SAMPLES = 10_000;

export interface WindowSpec {
  metric: string;
  by: 'time' | 'samples';
  /** ms for a time window, a count for a sample window */
  size: number;
}

/** Where an expression's names are interned (one scope for all the rules of a node, so windows are shared). */
export interface ExprScope {
  metric(name: string): number;
  attribute(name: string): number;
  window(spec: WindowSpec, fn: WindowFn): number;
}

export interface ExprInputs {
  readonly metrics: Float64Array;
  readonly attributes: Float64Array;
  window(w: number, fn: WindowFn): number;
}

export type Evaluate = (inputs: ExprInputs) => number;
export type ExprType = 'bool' | 'num';

export interface CompiledExpression {
  source: string;
  type: ExprType;
  run: Evaluate;
  /** a top-level comparison's two sides, for an event's value and threshold */
  left: Evaluate | null;
  right: Evaluate | null;
  /** the metrics named outside windows (the sample must carry them) and inside */
  sampleMetrics: string[];
  windowMetrics: string[];
  attributes: string[];
}

const COMPARE: Record<CompareSymbol, (a: number, b: number) => boolean> = {
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

interface Compiled {
  type: ExprType;
  run: Evaluate;
}

class Compiler {
  readonly sampleMetrics = new Set<string>();
  readonly windowMetrics = new Set<string>();
  readonly attributes = new Set<string>();
  constructor(private readonly scope: ExprScope) {}

  compile(node: Node): Compiled {
    switch (node.kind) {
      case 'num': {
        const v = node.value;
        return { type: 'num', run: () => v };
      }
      case 'bool': {
        const v = node.value ? 1 : 0;
        return { type: 'bool', run: () => v };
      }
      case 'metric': {
        checkName(node.name, node.pos, 'metric');
        this.sampleMetrics.add(node.name);
        const i = this.scope.metric(node.name);
        return { type: 'num', run: (c) => c.metrics[i] };
      }
      case 'attr': {
        checkName(node.name, node.pos, 'attribute');
        this.attributes.add(node.name);
        const i = this.scope.attribute(node.name);
        return { type: 'num', run: (c) => c.attributes[i] };
      }
      case 'neg': {
        const arg = this.num(node.arg, '"-"');
        return { type: 'num', run: (c) => -arg(c) };
      }
      case 'not': {
        const arg = this.bool(node.arg, '"not"');
        return { type: 'bool', run: (c) => 1 - arg(c) };
      }
      case 'logic': {
        const l = this.bool(node.left, `"${node.op}"`);
        const r = this.bool(node.right, `"${node.op}"`);
        if (node.op === 'and') {
          return {
            type: 'bool',
            run: (c) => {
              const a = l(c);
              if (a === 0) return 0;
              const b = r(c);
              return b === 0 ? 0 : a !== a || b !== b ? NaN : 1;
            },
          };
        }
        return {
          type: 'bool',
          run: (c) => {
            const a = l(c);
            if (a === 1) return 1;
            const b = r(c);
            return b === 1 ? 1 : a !== a || b !== b ? NaN : 0;
          },
        };
      }
      case 'compare': {
        // == and != also compare conditions, true being 1 (door == true, with door a boolean metric); the others need numbers
        const equality = node.op === '==' || node.op === '!=';
        const l = equality ? this.compile(node.left).run : this.num(node.left, `"${node.op}"`);
        const r = equality ? this.compile(node.right).run : this.num(node.right, `"${node.op}"`);
        const test = COMPARE[node.op];
        return {
          type: 'bool',
          run: (c) => {
            const a = l(c);
            const b = r(c);
            return a !== a || b !== b ? NaN : test(a, b) ? 1 : 0;
          },
        };
      }
      case 'arith': {
        const l = this.num(node.left, `"${node.op}"`);
        const r = this.num(node.right, `"${node.op}"`);
        switch (node.op) {
          case '+':
            return { type: 'num', run: (c) => l(c) + r(c) };
          case '-':
            return { type: 'num', run: (c) => l(c) - r(c) };
          case '*':
            return { type: 'num', run: (c) => l(c) * r(c) };
          // a division by zero is not known rather than Infinity, so it decides nothing
          case '/':
            return { type: 'num', run: (c) => finite(l(c) / r(c)) };
          default:
            return { type: 'num', run: (c) => finite(l(c) % r(c)) };
        }
      }
      case 'call': {
        const args = node.args.map((a) => this.num(a, `${node.fn}()`));
        if (node.fn === 'abs') {
          const a = args[0];
          return { type: 'num', run: (c) => Math.abs(a(c)) };
        }
        const pick = node.fn === 'min' ? Math.min : Math.max;
        if (args.length === 2) {
          const [a, b] = args;
          return { type: 'num', run: (c) => pick(a(c), b(c)) };
        }
        return { type: 'num', run: (c) => pick(...args.map((a) => a(c))) };
      }
      case 'window': {
        checkName(node.metric, node.pos, 'metric');
        if (node.by === 'time' && (node.size <= 0 || node.size > MAX_WINDOW_MS))
          throw new ExprError('a time window must be longer than 0 and at most 24 hours', node.pos);
        if (node.by === 'samples' && (!Number.isInteger(node.size) || node.size < 1 || node.size > MAX_WINDOW_SAMPLES)) {
          throw new ExprError(`a sample window must be a whole number from 1 to ${MAX_WINDOW_SAMPLES} samples`, node.pos);
        }
        if (node.by === 'time' && node.size < 1000) throw new ExprError('a time window must be at least 1 s', node.pos);
        this.windowMetrics.add(node.metric);
        const w = this.scope.window({ metric: node.metric, by: node.by, size: node.size }, node.fn);
        const fn = node.fn;
        return { type: 'num', run: (c) => c.window(w, fn) };
      }
    }
  }

  private num(node: Node, where: string): Evaluate {
    const out = this.compile(node);
    if (out.type !== 'num') throw new ExprError(`${where} needs a number here, not a condition`, node.pos);
    return out.run;
  }

  private bool(node: Node, where: string): Evaluate {
    const out = this.compile(node);
    if (out.type !== 'bool') throw new ExprError(`${where} needs a condition here (e.g. temperature > 30), not a number`, node.pos);
    return out.run;
  }
}

function finite(x: number): number {
  return x === Infinity || x === -Infinity ? NaN : x;
}

function checkName(name: string, pos: number, what: string): void {
  if (isHostileKey(name)) throw new ExprError(`"${name}" cannot be a ${what} name`, pos);
}

/** Parses and compiles an expression of the given type; throws ExprError with the position of the fault. */
export function compileExpression(source: string, type: ExprType, scope: ExprScope): CompiledExpression {
  const tree = parseExpression(source);
  const compiler = new Compiler(scope);
  const out = compiler.compile(tree);
  if (out.type !== type) {
    throw new ExprError(
      type === 'bool'
        ? 'the expression must be a condition (e.g. temperature > 30), not a number'
        : 'the expression must give a number (e.g. avg(temperature, 5m)), not a condition',
      tree.pos,
    );
  }
  let left: Evaluate | null = null;
  let right: Evaluate | null = null;
  if (tree.kind === 'compare') {
    left = compiler.compile(tree.left).run;
    right = compiler.compile(tree.right).run;
  }
  return {
    source,
    type,
    run: out.run,
    left,
    right,
    sampleMetrics: [...compiler.sampleMetrics],
    windowMetrics: [...compiler.windowMetrics],
    attributes: [...compiler.attributes],
  };
}

/** A scope that only collects names, for checking an expression on its own (the editor, tests). */
export function collectingScope(): ExprScope & { metrics: string[]; attributeNames: string[]; windows: Array<WindowSpec & { fn: WindowFn }> } {
  const metrics: string[] = [];
  const attributeNames: string[] = [];
  const windows: Array<WindowSpec & { fn: WindowFn }> = [];
  const intern = (list: string[], name: string): number => {
    const i = list.indexOf(name);
    return i >= 0 ? i : list.push(name) - 1;
  };
  return {
    metrics,
    attributeNames,
    windows,
    metric: (name) => intern(metrics, name),
    attribute: (name) => intern(attributeNames, name),
    window: (spec, fn) => windows.push({ ...spec, fn }) - 1,
  };
}
