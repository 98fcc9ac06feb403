// A regular-expression matcher whose cost is linear in the input: O(length x pattern states), never more.
//
// JSON Schema `pattern` and `patternProperties` run against values and metric names that devices send.
// V8's backtracking engine takes exponential time for `^(a+)+$` (about a second at 27 characters, doubling per
// character) and quadratic time for patterns as plain as `\d+x` or `[a-z]+[0-9]+$` (20-50 s on a 100 KB
// value). No static check short of refusing most patterns rules the second kind out, so patterns are run
// as a Thompson NFA instead: every position advances a set of states, each state at most once.
//
// What an NFA cannot do in linear time is refused when the schema is compiled: backreferences and
// lookaround. Each character class or escape is still decided by V8 (one character at a time, with an ASCII
// table built once), so classes, `\p{...}` and `.` mean exactly what they mean in a `u` RegExp.

export class UnsupportedPattern extends Error {}

/** What ajv needs from a regular expression (its `code.regExp` engine returns this). */
export interface LinearRegExp {
  test(input: string): boolean;
  toString(): string;
}

export const MAX_PATTERN_LENGTH = 1024;
/** Bounds the work per input character; counted repetitions are expanded, so `[a-z]{5000}` is refused. */
export const MAX_STATES = 1000;

type CharTest = (codePoint: number) => boolean;
type AssertKind = 'start' | 'end' | 'wordBoundary' | 'notWordBoundary';

type Ast =
  | { kind: 'char'; source: string }
  | { kind: 'assert'; assert: AssertKind }
  | { kind: 'seq'; items: Ast[] }
  | { kind: 'alt'; branches: Ast[] }
  | { kind: 'repeat'; body: Ast; min: number; max: number };

// ---- parsing (the syntax of a `u` RegExp, which V8 has already accepted) ----

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parse(): Ast {
    const ast = this.disjunction();
    if (this.pos < this.src.length) throw new UnsupportedPattern(`unexpected "${this.src[this.pos]}" at ${this.pos}`);
    return ast;
  }

  private disjunction(): Ast {
    const branches = [this.alternative()];
    while (this.src[this.pos] === '|') {
      this.pos++;
      branches.push(this.alternative());
    }
    return branches.length === 1 ? branches[0] : { kind: 'alt', branches };
  }

  private alternative(): Ast {
    const items: Ast[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') items.push(this.term());
    return items.length === 1 ? items[0] : { kind: 'seq', items };
  }

  private term(): Ast {
    const c = this.src[this.pos];
    if (c === '^' || c === '$') {
      this.pos++;
      return { kind: 'assert', assert: c === '^' ? 'start' : 'end' };
    }
    if (c === '\\' && (this.src[this.pos + 1] === 'b' || this.src[this.pos + 1] === 'B')) {
      this.pos += 2;
      return { kind: 'assert', assert: this.src[this.pos - 1] === 'b' ? 'wordBoundary' : 'notWordBoundary' };
    }
    return this.quantified(this.atom());
  }

  private atom(): Ast {
    const start = this.pos;
    const c = this.src[this.pos];
    if (c === '(') return this.group();
    if (c === '[') {
      this.pos++;
      while (this.src[this.pos] !== ']') this.pos += this.src[this.pos] === '\\' ? 2 : 1;
      this.pos++;
    } else if (c === '\\') {
      this.escape();
    } else {
      this.pos += String.fromCodePoint(this.src.codePointAt(this.pos) as number).length;
    }
    return { kind: 'char', source: this.src.slice(start, this.pos) };
  }

  private group(): Ast {
    const rest = this.src.slice(this.pos, this.pos + 4);
    if (/^\(\?<?[=!]/.test(rest)) throw new UnsupportedPattern('lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported');
    if (rest.startsWith('(?:')) this.pos += 3;
    else if (rest.startsWith('(?<')) this.pos = this.src.indexOf('>', this.pos) + 1;
    else if (rest.startsWith('(?')) throw new UnsupportedPattern(`the group "${rest}…" is not supported`);
    else this.pos++;
    const body = this.disjunction();
    this.pos++; // ')'
    return body;
  }

  /** Moves past one escape outside a class (after `\`). */
  private escape(): void {
    const c = this.src[this.pos + 1];
    if (/[1-9]/.test(c) || c === 'k') throw new UnsupportedPattern('backreferences (\\1, \\k<name>) are not supported');
    if ((c === 'p' || c === 'P') && this.src[this.pos + 2] === '{') {
      this.pos = this.src.indexOf('}', this.pos) + 1;
    } else if (c === 'u') {
      const braced = /^\\u\{[0-9A-Fa-f]+\}/.exec(this.src.slice(this.pos));
      const pair = /^\\u[dD][89abAB][0-9A-Fa-f]{2}\\u[dD][c-fC-F][0-9A-Fa-f]{2}/.exec(this.src.slice(this.pos));
      this.pos += braced ? braced[0].length : pair ? 12 : 6;
    } else if (c === 'x') {
      this.pos += 4;
    } else if (c === 'c') {
      this.pos += 3;
    } else {
      this.pos += 2;
    }
  }

  private quantified(atom: Ast): Ast {
    const c = this.src[this.pos];
    let min: number;
    let max: number;
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
    } else {
      const counted = c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos)) : null;
      if (!counted) return atom;
      this.pos += counted[0].length;
      min = Number(counted[1]);
      max = counted[2] === undefined ? min : counted[3] === '' ? Infinity : Number(counted[3]);
    }
    if (this.src[this.pos] === '?') this.pos++; // lazy: the same for test()
    return { kind: 'repeat', body: atom, min, max };
  }
}

// ---- the NFA ----

type State =
  { kind: 'char'; test: CharTest; next: number } | { kind: 'assert'; assert: AssertKind; next: number } | { kind: 'split'; next: number[] } | { kind: 'match' };

class Builder {
  readonly states: State[] = [{ kind: 'match' }];
  private readonly tests = new Map<string, CharTest>();

  /** Builds `ast` in front of state `next`; returns its first state. */
  build(ast: Ast, next: number): number {
    switch (ast.kind) {
      case 'char':
        return this.add({ kind: 'char', test: this.charTest(ast.source), next });
      case 'assert':
        return this.add({ kind: 'assert', assert: ast.assert, next });
      case 'seq': {
        let first = next;
        for (let i = ast.items.length - 1; i >= 0; i--) first = this.build(ast.items[i], first);
        return first;
      }
      case 'alt':
        return this.add({ kind: 'split', next: ast.branches.map((b) => this.build(b, next)) });
      case 'repeat':
        return this.repeat(ast.body, ast.min, ast.max, next);
    }
  }

  private repeat(body: Ast, min: number, max: number, next: number): number {
    let rest: number;
    if (max === Infinity) {
      // A loop: the split is created first so the body can point back at it.
      const loop = this.add({ kind: 'split', next: [] });
      (this.states[loop] as { next: number[] }).next.push(this.build(body, loop), next);
      rest = loop;
    } else {
      rest = next;
      for (let i = min; i < max; i++) rest = this.add({ kind: 'split', next: [this.build(body, rest), next] });
    }
    for (let i = 0; i < min; i++) rest = this.build(body, rest);
    return rest;
  }

  private add(state: State): number {
    if (this.states.length >= MAX_STATES) {
      throw new UnsupportedPattern(`it needs more than ${MAX_STATES} states (counted repetitions such as {1000} are expanded); use smaller counts`);
    }
    this.states.push(state);
    return this.states.length - 1;
  }

  /** V8 decides what one character class or escape matches; ASCII answers are kept in a table. */
  private charTest(source: string): CharTest {
    let test = this.tests.get(source);
    if (!test) {
      const one = new RegExp(`^(?:${source})$`, 'u');
      const ascii = new Uint8Array(128);
      for (let cp = 0; cp < 128; cp++) ascii[cp] = one.test(String.fromCharCode(cp)) ? 1 : 0;
      test = (cp) => (cp < 128 ? ascii[cp] === 1 : one.test(String.fromCodePoint(cp)));
      this.tests.set(source, test);
    }
    return test;
  }
}

const isWordChar = (cp: number): boolean => (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122) || cp === 95;

/**
 * A set of NFA states reached at some position: the states of a lazily built DFA. Its transitions are kept
 * per (code point, context), so a pattern's common paths cost one table lookup per character.
 */
interface DfaState {
  readonly states: number[];
  readonly match: boolean;
  ascii?: Array<DfaState | undefined>;
  other?: Map<number, DfaState>;
}

/** Bounds the memory of a pattern's DFA; past it the cache starts over (still linear, at NFA speed). */
const MAX_DFA_STATES = 500;
const AT_END = 1;
const BEFORE_WORD = 2;

class Matcher implements LinearRegExp {
  private readonly marks: Uint32Array;
  private generation = 0;
  private readonly stack: number[] = [];
  private dfa = new Map<string, DfaState>();
  private initials: Array<DfaState | undefined> = [];
  private readonly contextMask: number;

  constructor(
    private readonly source: string,
    private readonly states: State[],
    private readonly start: number,
    private readonly anchored: boolean,
  ) {
    this.marks = new Uint32Array(states.length);
    // Only what the pattern's assertions look at tells two positions apart.
    const asserts = states.filter((st): st is Extract<State, { kind: 'assert' }> => st.kind === 'assert').map((st) => st.assert);
    this.contextMask = (asserts.includes('end') ? AT_END : 0) | (asserts.some((k) => k === 'wordBoundary' || k === 'notWordBoundary') ? BEFORE_WORD : 0);
  }

  toString(): string {
    return `/${this.source}/u`;
  }

  test(input: string): boolean {
    const first = input.length > 0 ? (input.codePointAt(0) as number) : -1;
    let state = this.initial(first);
    let after = first;
    for (let pos = 0; pos < input.length;) {
      if (state.match) return true;
      if (state.states.length === 0 && this.anchored) return false;
      const cp = after;
      pos += cp > 0xffff ? 2 : 1;
      after = pos < input.length ? (input.codePointAt(pos) as number) : -1;
      // The context of the new position: is it the end, and is the character after it a word character.
      const context = ((after === -1 ? AT_END : 0) | (isWordChar(after) ? BEFORE_WORD : 0)) & this.contextMask;
      const key = cp * 4 + context;
      const known = cp < 128 ? state.ascii?.[key] : state.other?.get(key);
      state = known ?? this.step(state, cp, after, key);
    }
    return state.match;
  }

  /** The state at position 0, kept per context: the common case of a short value costs no closure at all. */
  private initial(first: number): DfaState {
    const context = ((first === -1 ? AT_END : 0) | (isWordChar(first) ? BEFORE_WORD : 0)) & this.contextMask;
    const known = this.initials[context];
    if (known) return known;
    this.nextGeneration();
    const into: number[] = [];
    const match = this.close(this.start, into, true, first === -1, -1, first);
    return (this.initials[context] = this.intern(into, match, `^${context}`));
  }

  /** Advances every state of `from` over `cp` (and starts a new match here unless anchored); remembers the result. */
  private step(from: DfaState, cp: number, after: number, key: number): DfaState {
    this.nextGeneration();
    const into: number[] = [];
    let match = false;
    for (const s of from.states) {
      const state = this.states[s] as { kind: 'char'; test: CharTest; next: number };
      if (state.test(cp) && this.close(state.next, into, false, after === -1, cp, after)) match = true;
    }
    if (!this.anchored && this.close(this.start, into, false, after === -1, cp, after)) match = true;
    const next = this.intern(into, match, '');
    if (this.dfa.size <= MAX_DFA_STATES) {
      if (cp < 128) (from.ascii ??= new Array<DfaState | undefined>(512))[key] = next;
      else (from.other ??= new Map()).set(key, next);
    }
    return next;
  }

  private intern(states: number[], match: boolean, tag: string): DfaState {
    states.sort((x, y) => x - y);
    const id = `${tag}${match ? '!' : ''}${states.join(',')}`;
    let state = this.dfa.get(id);
    if (!state) {
      if (this.dfa.size >= MAX_DFA_STATES) {
        this.dfa = new Map();
        this.initials = [];
      }
      state = { states, match };
      this.dfa.set(id, state);
    }
    return state;
  }

  /** Marks of an older position no longer count; on wrap-around they are cleared. */
  private nextGeneration(): void {
    if (this.generation === 0xffffffff) {
      this.marks.fill(0);
      this.generation = 0;
    }
    this.generation++;
  }

  /**
   * Adds the character states reachable from `from` without consuming input to `into`, each once per
   * position (marked with this position's generation); true when the match state is reached.
   */
  private close(from: number, into: number[], atStart: boolean, atEnd: boolean, before: number, after: number): boolean {
    const stack = this.stack;
    stack.length = 0;
    stack.push(from);
    while (stack.length > 0) {
      const s = stack.pop() as number;
      if (this.marks[s] === this.generation) continue;
      this.marks[s] = this.generation;
      const state = this.states[s];
      switch (state.kind) {
        case 'match':
          return true;
        case 'char':
          into.push(s);
          break;
        case 'split':
          for (let i = state.next.length - 1; i >= 0; i--) stack.push(state.next[i]);
          break;
        case 'assert':
          if (holds(state.assert, atStart, atEnd, before, after)) stack.push(state.next);
          break;
      }
    }
    return false;
  }
}

function holds(assert: AssertKind, atStart: boolean, atEnd: boolean, before: number, after: number): boolean {
  switch (assert) {
    case 'start':
      return atStart;
    case 'end':
      return atEnd;
    case 'wordBoundary':
      return isWordChar(before) !== isWordChar(after);
    case 'notWordBoundary':
      return isWordChar(before) === isWordChar(after);
  }
}

/** True when every way through `ast` begins with `^`, so no later position can start a match. */
function anchoredAtStart(ast: Ast): boolean {
  if (ast.kind === 'assert') return ast.assert === 'start';
  if (ast.kind === 'seq') return ast.items.length > 0 && anchoredAtStart(ast.items[0]);
  if (ast.kind === 'alt') return ast.branches.every(anchoredAtStart);
  return false;
}

/**
 * Compiles a pattern with the meaning of `new RegExp(pattern, 'u')`, matched in linear time.
 * Throws SyntaxError for an invalid pattern and UnsupportedPattern for what cannot run in linear time.
 */
export function compileLinear(pattern: string): LinearRegExp {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new UnsupportedPattern(`it is longer than ${MAX_PATTERN_LENGTH} characters`);
  new RegExp(pattern, 'u'); // V8 checks the syntax; the parser below relies on it
  const ast = new Parser(pattern).parse();
  const builder = new Builder();
  const start = builder.build(ast, 0);
  return new Matcher(pattern, builder.states, start, anchoredAtStart(ast));
}
