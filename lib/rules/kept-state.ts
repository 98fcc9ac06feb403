// Where a rule node without a registry keeps its alarm state. On Node-RED's default settings the runtime deletes
// a node's context when the node closes (a full deploy, or an edit of the node), so the state is kept in the
// process by node id, outliving the node instance, and dropped only when the node is deleted. It is also written
// to the node's context as one value, so that a file-backed context store brings it back after a restart: one
// value rather than a key per device, because context keys are property paths and `a.b.c` would become nested
// keys.
import { M2MError, errorMessage } from '../errors';
import { emptyRecord, isPlainObject } from '../safe';
import type { StateBackend } from './persistence';
import { RULE_STATE_VERSION } from './state-format';

/** The node's context in one store, used asynchronously (which every context store supports). */
export interface NodeContextStore {
  get(key: string, callback: (err: Error | null | undefined, value: unknown) => void): void;
  set(key: string, value: unknown, callback: (err?: Error | null) => void): void;
  keys(callback: (err: Error | null | undefined, keys: string[]) => void): void;
}

/** The context key of the state (a valid context property name). */
export const CONTEXT_KEY = 'm2mRuleState';
const V1_DEVICE_PREFIX = 'd:';
const V1_META = 'meta';

export class KeptState implements StateBackend {
  constructor(
    private context: NodeContextStore,
    private readonly entries: Record<string, unknown>,
  ) {}

  get(key: string): unknown {
    return Object.hasOwn(this.entries, key) ? this.entries[key] : undefined;
  }

  set(key: string, value: unknown): void {
    this.entries[key] = value;
  }

  delete(key: string): void {
    delete this.entries[key];
  }

  keys(): string[] {
    return Object.keys(this.entries);
  }

  /** Writes the whole state to the context; the memory and file stores keep the reference, so this is cheap. */
  commit(): Promise<void> {
    return call<void>((cb) => this.context.set(CONTEXT_KEY, { v: RULE_STATE_VERSION, entries: this.entries }, (err) => cb(err, undefined)));
  }

  /** A new instance of the node (after a redeploy) writes through its own context. */
  rebind(context: NodeContextStore): void {
    this.context = context;
  }
}

/** Every rule node's kept state, by node id. One per registration of the node type, i.e. per runtime. */
export class KeptStates {
  private readonly byNode = new Map<string, KeptState>();

  /**
   * The node's kept state: the one its previous instance left in this process, or else what its context holds
   * (after a restart), stepping the first release's layout (a context key per device) up. Throws STORE_TOO_NEW.
   */
  async open(nodeId: string, context: NodeContextStore): Promise<KeptState> {
    const kept = this.byNode.get(nodeId);
    if (kept) {
      kept.rebind(context);
      return kept;
    }
    const { entries, oldKeys } = await readContext(context);
    const state = new KeptState(context, entries);
    this.byNode.set(nodeId, state);
    if (oldKeys.length) {
      await state.commit();
      for (const key of oldKeys) await call<void>((cb) => context.set(key, undefined, (err) => cb(err, undefined)));
    }
    return state;
  }

  /** The node was deleted: its state goes with it. */
  forget(nodeId: string): void {
    this.byNode.delete(nodeId);
  }
}

async function readContext(context: NodeContextStore): Promise<{ entries: Record<string, unknown>; oldKeys: string[] }> {
  const entries = emptyRecord<unknown>();
  const saved = await call<unknown>((cb) => context.get(CONTEXT_KEY, cb));
  if (saved !== undefined) {
    if (!isPlainObject(saved) || !isPlainObject(saved.entries))
      throw new M2MError('STORE_CORRUPT', `the alarm state in context key ${CONTEXT_KEY} is not an object of entries; it is left as it is`, { field: 'store' });
    if (typeof saved.v !== 'number' || saved.v > RULE_STATE_VERSION) {
      throw new M2MError(
        'STORE_TOO_NEW',
        `the alarm state in context key ${CONTEXT_KEY} has format ${JSON.stringify(saved.v)}; this version of the pack reads up to ${RULE_STATE_VERSION}. Upgrade the pack again; the state is left as it is`,
        { field: 'store' },
      );
    }
    for (const [key, value] of Object.entries(saved.entries)) entries[key] = value;
    return { entries, oldKeys: [] };
  }
  // format 1: a key per device, where a device id with dots was taken for a path of nested keys
  const oldKeys = (await call<string[]>((cb) => context.keys(cb))).filter((key) => key === V1_META || key.startsWith(V1_DEVICE_PREFIX));
  for (const key of oldKeys) {
    const value = await call<unknown>((cb) => context.get(key, cb));
    if (key === V1_META) entries[key] = value;
    else unnest(key, value, entries);
  }
  return { entries, oldKeys };
}

/** `d:a` holding `{ b: { c: { rule: [...] } } }` is device `a.b.c`: arrays are a device's rule entries, objects deeper ids. */
function unnest(key: string, value: unknown, into: Record<string, unknown>): void {
  if (!isPlainObject(value)) {
    into[key] = value;
    return;
  }
  const own = emptyRecord<unknown>();
  let hasOwnEntries = false;
  for (const [name, inner] of Object.entries(value)) {
    if (isPlainObject(inner)) unnest(`${key}.${name}`, inner, into);
    else {
      own[name] = inner;
      hasOwnEntries = true;
    }
  }
  if (hasOwnEntries) into[key] = own;
}

function call<T>(op: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    try {
      op((err, value) => (err ? reject(err) : resolve(value)));
    } catch (err) {
      reject(new Error(errorMessage(err)));
    }
  });
}
