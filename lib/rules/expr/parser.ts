// The expression language of rule conditions: a hand-written lexer and recursive-descent parser producing a small
// tree. Nothing is looked up at parse time; every error is an ExprError with the 0-based position of the fault.
//   expr    := or ;  or := and ('or' and)* ;  and := not ('and' not)* ;  not := 'not' not | cmp
//   cmp     := sum (('>' | '>=' | '<' | '<=' | '==' | '!=') sum)?
//   sum     := product (('+' | '-') product)* ;  product := unary (('*' | '/' | '%') unary)*
//   unary   := '-' unary | primary
//   primary := number | 'true' | 'false' | metric | 'attr.' name | call | '(' expr ')'
//   call    := ('abs' | 'min' | 'max') '(' expr (',' expr)* ')'
//            | ('avg' | 'min' | 'max' | 'sum' | 'count' | 'delta' | 'rate') '(' metric ',' (duration | N 'samples') ')'

export class ExprError extends Error {
  constructor(
    readonly problem: string,
    readonly position: number,
  ) {
    super(`${problem} at position ${position + 1}`);
    this.name = 'ExprError';
  }
}

export const MAX_EXPRESSION_LENGTH = 2000;
const MAX_DEPTH = 48;

export type WindowFn = 'avg' | 'min' | 'max' | 'sum' | 'count' | 'delta' | 'rate';
export const WINDOW_FNS: readonly WindowFn[] = ['avg', 'min', 'max', 'sum', 'count', 'delta', 'rate'];
export type CompareSymbol = '>' | '>=' | '<' | '<=' | '==' | '!=';
export type ArithSymbol = '+' | '-' | '*' | '/' | '%';

export type Node =
  | { kind: 'num'; pos: number; value: number }
  | { kind: 'bool'; pos: number; value: boolean }
  | { kind: 'metric'; pos: number; name: string }
  | { kind: 'attr'; pos: number; name: string }
  | { kind: 'neg'; pos: number; arg: Node }
  | { kind: 'not'; pos: number; arg: Node }
  | { kind: 'logic'; pos: number; op: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'compare'; pos: number; op: CompareSymbol; left: Node; right: Node }
  | { kind: 'arith'; pos: number; op: ArithSymbol; left: Node; right: Node }
  | { kind: 'call'; pos: number; fn: 'abs' | 'min' | 'max'; args: Node[] }
  | { kind: 'window'; pos: number; fn: WindowFn; metric: string; by: 'time' | 'samples'; size: number };

type Token =
  | { t: 'num'; pos: number; value: number; unit: '' | 's' | 'm' | 'h' }
  | { t: 'name'; pos: number; value: string }
  | { t: 'sym'; pos: number; value: string }
  | { t: 'end'; pos: number };

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;
const SYMBOLS = ['>=', '<=', '==', '!=', '>', '<', '+', '-', '*', '/', '%', '(', ')', ',', '.'];
const RESERVED = new Set(['and', 'or', 'not', 'true', 'false', 'attr']);

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if ((c >= '0' && c <= '9') || (c === '.' && text[i + 1] >= '0' && text[i + 1] <= '9')) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
      if (!m) throw new ExprError('a number is malformed', start);
      i += m[0].length;
      let unit: '' | 's' | 'm' | 'h' = '';
      const u = text[i];
      if ((u === 's' || u === 'm' || u === 'h') && !/[A-Za-z0-9_]/.test(text[i + 1] ?? '')) {
        unit = u;
        i++;
      } else if (/[A-Za-z_]/.test(u ?? '')) {
        throw new ExprError(`"${text.slice(start, i + 1)}" is neither a number nor a duration (s, m or h)`, start);
      }
      const value = Number(m[0]);
      if (!Number.isFinite(value)) throw new ExprError('a number is too large', start);
      tokens.push({ t: 'num', pos: start, value, unit });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i])) i++;
      tokens.push({ t: 'name', pos: start, value: text.slice(start, i) });
      continue;
    }
    const sym = SYMBOLS.find((s) => text.startsWith(s, i));
    if (!sym) throw new ExprError(`unexpected character ${JSON.stringify(c)}`, start);
    i += sym.length;
    tokens.push({ t: 'sym', pos: start, value: sym });
  }
  tokens.push({ t: 'end', pos: text.length });
  return tokens;
}

function describeToken(tok: Token): string {
  if (tok.t === 'end') return 'the end';
  if (tok.t === 'num') return `number ${tok.value}${tok.unit}`;
  return `"${tok.value}"`;
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly tokens: Token[]) {}

  private get tok(): Token {
    return this.tokens[this.i];
  }

  private isSym(value: string): boolean {
    const tok = this.tok;
    return tok.t === 'sym' && tok.value === value;
  }

  private isWord(value: string): boolean {
    const tok = this.tok;
    return tok.t === 'name' && tok.value === value;
  }

  private expect(value: string, what: string): void {
    if (!this.isSym(value)) throw new ExprError(`expected ${what}, found ${describeToken(this.tok)}`, this.tok.pos);
    this.i++;
  }

  parseAll(): Node {
    if (this.tok.t === 'end') throw new ExprError('the expression is empty', 0);
    const node = this.or();
    const rest = this.tokens[this.i];
    if (rest.t !== 'end') throw new ExprError(`unexpected ${describeToken(rest)}`, rest.pos);
    return node;
  }

  private nest<T>(pos: number, fn: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new ExprError(`nested more than ${MAX_DEPTH} deep`, pos);
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  private or(): Node {
    let left = this.and();
    while (this.isWord('or')) {
      const pos = this.tok.pos;
      this.i++;
      left = { kind: 'logic', pos, op: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Node {
    let left = this.not();
    while (this.isWord('and')) {
      const pos = this.tok.pos;
      this.i++;
      left = { kind: 'logic', pos, op: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): Node {
    if (this.isWord('not')) {
      const pos = this.tok.pos;
      this.i++;
      return this.nest(pos, () => ({ kind: 'not', pos, arg: this.not() }));
    }
    return this.compare();
  }

  private compare(): Node {
    const left = this.sum();
    const tok = this.tok;
    if (tok.t === 'sym' && ['>', '>=', '<', '<=', '==', '!='].includes(tok.value)) {
      this.i++;
      const right = this.sum();
      const next = this.tok;
      if (next.t === 'sym' && ['>', '>=', '<', '<=', '==', '!='].includes(next.value))
        throw new ExprError('comparisons do not chain; join them with "and"', next.pos);
      return { kind: 'compare', pos: tok.pos, op: tok.value as CompareSymbol, left, right };
    }
    return left;
  }

  private sum(): Node {
    let left = this.product();
    for (let tok = this.tok; tok.t === 'sym' && (tok.value === '+' || tok.value === '-'); tok = this.tok) {
      this.i++;
      left = { kind: 'arith', pos: tok.pos, op: tok.value, left, right: this.product() };
    }
    return left;
  }

  private product(): Node {
    let left = this.unary();
    for (let tok = this.tok; tok.t === 'sym' && (tok.value === '*' || tok.value === '/' || tok.value === '%'); tok = this.tok) {
      this.i++;
      left = { kind: 'arith', pos: tok.pos, op: tok.value, left, right: this.unary() };
    }
    return left;
  }

  private unary(): Node {
    if (this.isSym('-')) {
      const pos = this.tok.pos;
      this.i++;
      return this.nest(pos, () => ({ kind: 'neg', pos, arg: this.unary() }));
    }
    return this.primary();
  }

  private primary(): Node {
    const tok = this.tok;
    if (tok.t === 'num') {
      if (tok.unit) throw new ExprError(`a duration (${tok.value}${tok.unit}) is only allowed as a window function's second argument`, tok.pos);
      this.i++;
      return { kind: 'num', pos: tok.pos, value: tok.value };
    }
    if (tok.t === 'sym' && tok.value === '(') {
      this.i++;
      const inner = this.nest(tok.pos, () => this.or());
      this.expect(')', '")"');
      return inner;
    }
    if (tok.t !== 'name') throw new ExprError(`expected a number, a metric or "(", found ${describeToken(tok)}`, tok.pos);
    this.i++;
    const word = tok.value;
    if (word === 'true' || word === 'false') return { kind: 'bool', pos: tok.pos, value: word === 'true' };
    if (word === 'attr') {
      this.expect('.', '"." and an attribute name after attr');
      const name = this.tok;
      if (name.t !== 'name') throw new ExprError('expected an attribute name after "attr."', name.pos);
      this.i++;
      return { kind: 'attr', pos: tok.pos, name: name.value };
    }
    if (RESERVED.has(word)) throw new ExprError(`"${word}" cannot stand here`, tok.pos);
    if (this.isSym('(')) return this.nest(tok.pos, () => this.call(word, tok.pos));
    return { kind: 'metric', pos: tok.pos, name: word };
  }

  private call(fn: string, pos: number): Node {
    this.i++; // (
    const isWindowFn = (WINDOW_FNS as readonly string[]).includes(fn);
    if (isWindowFn && this.looksLikeWindow()) return this.window(fn as WindowFn, pos);
    if (fn !== 'abs' && fn !== 'min' && fn !== 'max') {
      if (isWindowFn) throw new ExprError(`${fn}() takes a metric and a window, e.g. ${fn}(temperature, 5m) or ${fn}(temperature, 20 samples)`, pos);
      throw new ExprError(`unknown function "${fn}" (abs, min, max, avg, sum, count, delta, rate)`, pos);
    }
    const args: Node[] = [this.or()];
    while (this.isSym(',')) {
      this.i++;
      args.push(this.or());
    }
    this.expect(')', '")" or ","');
    if (fn === 'abs' && args.length !== 1) throw new ExprError('abs() takes one argument', pos);
    if (fn !== 'abs' && args.length < 2) throw new ExprError(`${fn}() takes two or more values, or a metric and a window`, pos);
    return { kind: 'call', pos, fn, args };
  }

  /** `metric , 5m` or `metric , 20 samples` follows: a window function rather than min/max of values. */
  private looksLikeWindow(): boolean {
    const [metric, comma, size, after] = this.tokens.slice(this.i, this.i + 4);
    if (metric?.t !== 'name' || comma?.t !== 'sym' || comma.value !== ',' || size?.t !== 'num') return false;
    return size.unit !== '' || (after?.t === 'name' && after.value === 'samples');
  }

  private window(fn: WindowFn, pos: number): Node {
    const metric = this.tok as { value: string; pos: number };
    if (RESERVED.has(metric.value)) throw new ExprError(`expected a metric name, found "${metric.value}"`, metric.pos);
    this.i += 2; // metric ,
    const size = this.tok as Extract<Token, { t: 'num' }>;
    this.i++;
    let node: Node;
    if (size.unit) {
      const ms = size.value * UNIT_MS[size.unit];
      node = { kind: 'window', pos, fn, metric: metric.value, by: 'time', size: ms };
    } else {
      if (!this.isWord('samples')) throw new ExprError('expected a duration (e.g. 5m) or a sample count (e.g. 20 samples)', size.pos);
      this.i++;
      node = { kind: 'window', pos, fn, metric: metric.value, by: 'samples', size: size.value };
    }
    this.expect(')', '")" after the window');
    return node;
  }
}

/** Parses an expression; throws ExprError naming the position. */
export function parseExpression(text: string): Node {
  if (typeof text !== 'string') throw new ExprError('the expression is not text', 0);
  if (text.length > MAX_EXPRESSION_LENGTH) throw new ExprError(`longer than ${MAX_EXPRESSION_LENGTH} characters`, MAX_EXPRESSION_LENGTH);
  return new Parser(lex(text)).parseAll();
}
