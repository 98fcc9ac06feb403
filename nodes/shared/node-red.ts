// The small part of Node-RED's runtime API that this pack uses, typed strictly so no `any` crosses into a node.

export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export type SendFunction = (msg: NodeMessage | null | Array<NodeMessage | NodeMessage[] | null>) => void;
export type DoneFunction = (err?: Error) => void;

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export interface ContextStore {
  get(key: string, store?: string): unknown;
  set(key: string, value: unknown, store?: string): void;
  keys(store?: string): string[];
}

export interface Node<TCredentials = Record<string, string | undefined>> {
  id: string;
  type: string;
  name?: string;
  credentials: TCredentials;
  on(event: 'input', listener: (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void | Promise<void>): void;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): void;
  send(msg: NodeMessage | null | Array<NodeMessage | NodeMessage[] | null>): void;
  status(status: NodeStatus | Record<string, never>): void;
  log(msg: string): void;
  warn(msg: string): void;
  error(err: string | Error, msg?: NodeMessage): void;
  debug(msg: string): void;
  context(): { flow: ContextStore; global: ContextStore } & ContextStore;
  receive(msg: NodeMessage): void;
}

export interface RequestLike {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}
export interface ResponseLike {
  json(body: unknown): void;
  status(code: number): ResponseLike;
  send(body?: unknown): void;
}
export type Middleware = (req: RequestLike, res: ResponseLike, next: () => void) => void;

/** A JSONata expression Node-RED prepared, opaque to us. */
export interface PreparedJsonata {
  evaluate: unknown;
}

export interface NodeAPI {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(type: string, ctor: (this: Node, def: NodeDef) => void, opts?: { credentials?: Record<string, { type: 'text' | 'password' }> }): void;
    getNode(id: string): object | null;
  };
  settings: { userDir?: string; [key: string]: unknown };
  util: {
    evaluateNodeProperty(value: string, type: string, node: Node, msg: NodeMessage): unknown;
    /** Compiles a JSONata expression with Node-RED's bindings ($flowContext, $env …); throws on a syntax error. */
    prepareJSONataExpression(expression: string, node: Node): PreparedJsonata;
    /** Evaluates a prepared expression against msg; JSONata 2 is asynchronous, so only the callback form. */
    evaluateJSONataExpression(expression: PreparedJsonata, msg: NodeMessage, callback: (err: Error | null, result?: unknown) => void): void;
    getMessageProperty(msg: NodeMessage, expr: string): unknown;
    setMessageProperty(msg: NodeMessage, expr: string, value: unknown, createMissing?: boolean): boolean;
    cloneMessage<T extends NodeMessage>(msg: T): T;
  };
  httpAdmin: {
    get(path: string, ...handlers: Middleware[]): void;
    post(path: string, ...handlers: Middleware[]): void;
  };
  auth: { needsPermission(permission: string): Middleware };
  version(): string;
  _(key: string, subs?: Record<string, unknown>): string;
}
