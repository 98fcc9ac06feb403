import { M2MError } from './errors';

// A shape guard for values that come in from outside (msg properties). Node-RED's deep copy of a message and
// every recursive walk in a codec overflow the stack somewhere past a few thousand levels, and an 18 KB JSON
// body nests 3,000 deep. A value built with shared references (CBOR value sharing, tags 28/29, or a function
// node) is small in memory but exponential for anything that walks it as a tree (JSON.stringify, a schema
// check). Real telemetry and device records nest below 10 levels and hold far fewer objects.

/** How deeply objects and arrays may nest in one message property. */
export const MAX_NESTING = 64;
/**
 * How many objects and arrays one message property may hold, counting an object once per reference to it:
 * 256 KiB of JSON text (the telemetry size cap) holds at most about 87,000.
 */
export const MAX_CONTAINERS = 100_000;

export const PAYLOAD_TOO_DEEP = 'PAYLOAD_TOO_DEEP';
export const PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE';

export interface ShapeLimits {
  depth: number;
  containers: number;
}

export const DEFAULT_SHAPE_LIMITS: ShapeLimits = { depth: MAX_NESTING, containers: MAX_CONTAINERS };

/** Levels of nesting (0 for a scalar, 1 for `{}`), and objects plus arrays counted once per reference. */
export interface Shape {
  depth: number;
  containers: number;
}

/** Shapes already measured, shared between calls over values that share objects. */
export type ShapeMemo = Map<object, Shape>;

interface Frame {
  value: object;
  children: ArrayLike<unknown>;
  next: number;
  shape: Shape;
}

const SCALAR: Shape = { depth: 0, containers: 0 };
const FLAT: Shape = { depth: 1, containers: 1 };
const TOO_DEEP: Shape = { depth: Infinity, containers: Infinity };
const TOO_MANY: Shape = { depth: 0, containers: Infinity };

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer);
}

function isFlat(children: ArrayLike<unknown>): boolean {
  for (let i = 0; i < children.length; i++) if (isContainer(children[i])) return false;
  return true;
}

function childrenOf(value: object): ArrayLike<unknown> {
  if (Array.isArray(value)) return value;
  if (value instanceof Map) return [...value.keys(), ...value.values()];
  if (value instanceof Set) return [...value];
  return Object.values(value);
}

/**
 * The shape of `value`, or as soon as a limit is passed, depth Infinity (too deep, or it contains itself) or
 * containers Infinity (too many objects). Iterative, so no input can overflow the stack (the walk holds at
 * most `limits.depth` frames), and linear in objects plus references: an object reached through many
 * references is walked once and its shape reused.
 */
export function measureShape(value: unknown, limits: ShapeLimits = DEFAULT_SHAPE_LIMITS, memo: ShapeMemo = new Map()): Shape {
  if (!isContainer(value)) return SCALAR;
  if (limits.depth < 1 || limits.containers < 1) return limits.depth < 1 ? TOO_DEEP : TOO_MANY;
  const children = childrenOf(value);
  if (isFlat(children)) return FLAT; // most payloads: no walk, no allocation
  const known = memo.get(value);
  if (known !== undefined) return known;
  const onPath = new Set<object>([value]);
  const stack: Frame[] = [{ value, children, next: 0, shape: { depth: 1, containers: 1 } }];
  for (;;) {
    const top = stack[stack.length - 1];
    if (top.next < top.children.length) {
      const child = top.children[top.next++];
      if (!isContainer(child)) continue;
      const shape = memo.get(child);
      if (shape === undefined) {
        if (onPath.has(child) || stack.length >= limits.depth) return TOO_DEEP;
        onPath.add(child);
        stack.push({ value: child, children: childrenOf(child), next: 0, shape: { depth: 1, containers: 1 } });
        continue;
      }
      if (stack.length + shape.depth > limits.depth) return TOO_DEEP;
      if (!add(top.shape, shape, limits)) return TOO_MANY;
      continue;
    }
    stack.pop();
    onPath.delete(top.value);
    memo.set(top.value, top.shape);
    const parent = stack[stack.length - 1];
    if (parent === undefined) return top.shape;
    if (!add(parent.shape, top.shape, limits)) return TOO_MANY;
  }
}

/** Adds a child's shape to its parent's; false when the parent now holds too many containers. */
function add(parent: Shape, child: Shape, limits: ShapeLimits): boolean {
  if (child.depth + 1 > parent.depth) parent.depth = child.depth + 1;
  parent.containers += child.containers;
  return parent.containers <= limits.containers;
}

/** Levels of nesting in `value`, or Infinity when it is deeper than `limit` or contains itself. */
export function nestingDepth(value: unknown, limit = MAX_NESTING): number {
  return measureShape(value, { depth: limit, containers: Infinity }).depth;
}

/** Throws PAYLOAD_TOO_DEEP or PAYLOAD_TOO_LARGE (naming `field`) when `value` passes a limit. */
export function checkShape(value: unknown, field: string, limits: ShapeLimits = DEFAULT_SHAPE_LIMITS): void {
  const error = shapeError(value, field, limits);
  if (error) throw error;
}

/**
 * The first own property of `record` (other than those in `skip`) that passes a limit, as a PAYLOAD_TOO_DEEP
 * or PAYLOAD_TOO_LARGE error whose `field` names it; undefined when every property is within the limits.
 */
export function oversizedProperty(record: object, skip: ReadonlySet<string>, limits: ShapeLimits = DEFAULT_SHAPE_LIMITS): M2MError | undefined {
  const memo: ShapeMemo = new Map();
  for (const key of Object.keys(record)) {
    if (skip.has(key)) continue;
    const error = shapeError((record as Record<string, unknown>)[key], key, limits, memo);
    if (error) return error;
  }
  return undefined;
}

function shapeError(value: unknown, field: string, limits: ShapeLimits, memo?: ShapeMemo): M2MError | undefined {
  const shape = measureShape(value, limits, memo);
  if (shape.depth > limits.depth) {
    return new M2MError(PAYLOAD_TOO_DEEP, `msg.${field} nests objects or arrays deeper than ${limits.depth} levels, or contains itself`, {
      field,
      details: { limit: limits.depth },
    });
  }
  if (shape.containers > limits.containers) {
    return new M2MError(PAYLOAD_TOO_LARGE, `msg.${field} holds more than ${limits.containers} objects and arrays, counting each shared reference`, {
      field,
      details: { limit: limits.containers },
    });
  }
  return undefined;
}
