import { M2MError } from './errors';

// A nesting guard for values that come in from outside (msg properties): Node-RED's deep clone of a message
// and every recursive walk in a codec overflow the stack somewhere past a few thousand levels, and an 18 KB
// JSON body nests 3,000 deep. Real telemetry and device records stay below 10.

/** How deeply objects and arrays may nest in one message property. */
export const MAX_NESTING = 64;

export const PAYLOAD_TOO_DEEP = 'PAYLOAD_TOO_DEEP';

interface Frame {
  value: object;
  children: ArrayLike<unknown>;
  next: number;
  height: number;
}

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer);
}

function childrenOf(value: object): ArrayLike<unknown> {
  if (Array.isArray(value)) return value;
  if (value instanceof Map) return [...value.keys(), ...value.values()];
  if (value instanceof Set) return [...value];
  return Object.values(value);
}

/**
 * Levels of nesting in `value`: 0 for a scalar, string or byte buffer, 1 for `{}` or `[]`, 2 for `{a: []}`.
 * Returns Infinity as soon as it is known to exceed `limit`, or when the value contains itself.
 * Iterative (the stack never holds more than `limit` frames) and linear in objects plus references: an
 * object reached through many references (CBOR value sharing, tags 28/29) is measured once.
 * `measured` carries the heights already known between calls over values that share objects.
 */
export function nestingDepth(value: unknown, limit = MAX_NESTING, measured = new Map<object, number>()): number {
  if (!isContainer(value)) return 0;
  const known = measured.get(value);
  if (known !== undefined) return known;
  if (limit < 1) return Infinity;
  const onPath = new Set<object>([value]);
  const stack: Frame[] = [{ value, children: childrenOf(value), next: 0, height: 1 }];
  for (;;) {
    const top = stack[stack.length - 1];
    if (top.next < top.children.length) {
      const child = top.children[top.next++];
      if (!isContainer(child)) continue;
      const height = measured.get(child);
      if (height !== undefined) {
        if (stack.length + height > limit) return Infinity;
        if (height + 1 > top.height) top.height = height + 1;
      } else if (onPath.has(child) || stack.length >= limit) {
        return Infinity;
      } else {
        onPath.add(child);
        stack.push({ value: child, children: childrenOf(child), next: 0, height: 1 });
      }
      continue;
    }
    stack.pop();
    onPath.delete(top.value);
    measured.set(top.value, top.height);
    const parent = stack[stack.length - 1];
    if (parent === undefined) return top.height;
    if (top.height + 1 > parent.height) parent.height = top.height + 1;
  }
}

/** Throws PAYLOAD_TOO_DEEP when `value` nests deeper than `limit` levels or contains itself. */
export function checkNesting(value: unknown, field: string, limit = MAX_NESTING): void {
  const error = nestingError(value, field, limit);
  if (error) throw error;
}

/**
 * The first own property of `record` (other than those in `skip`) that nests deeper than `limit`, as a
 * PAYLOAD_TOO_DEEP error naming it in `field`; undefined when every property is within the limit.
 */
export function tooDeepProperty(record: object, skip: ReadonlySet<string>, limit = MAX_NESTING): M2MError | undefined {
  const measured = new Map<object, number>();
  for (const key of Object.keys(record)) {
    if (skip.has(key)) continue;
    const error = nestingError((record as Record<string, unknown>)[key], key, limit, measured);
    if (error) return error;
  }
  return undefined;
}

function nestingError(value: unknown, field: string, limit: number, measured?: Map<object, number>): M2MError | undefined {
  if (nestingDepth(value, limit, measured) <= limit) return undefined;
  return new M2MError(PAYLOAD_TOO_DEEP, `msg.${field} nests objects or arrays deeper than ${limit} levels, or contains itself`, {
    field,
    details: { limit },
  });
}
