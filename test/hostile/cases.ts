// The hostile cases every node gets, built on a node's own good message.
import type { NodeMessage } from '../../nodes/shared/node-red';
import type { HostileCase } from './harness';
import { deepArray, deepArrayJson, deepJson, deepObject, hostileKeyObjects, hugeArray, oddIds, oddNumbers, oddTopics, TEN_MB, wrongTypes } from './payloads';

export const TOO_DEEP = ['PAYLOAD_TOO_DEEP'] as const;
export const TOO_LARGE = ['PAYLOAD_TOO_LARGE'] as const;

let tenMb: string | undefined;
/** One 10 MB string for the whole run (strings are immutable; Node-RED's copies share it). */
export const tenMegabytes = (): string => (tenMb ??= 'x'.repeat(TEN_MB));

/** `levels` arrays, each holding the one inside it twice: what a CBOR decoder makes of nested value sharing. */
export function sharedTree(levels = 40): unknown {
  let value: unknown = { t: 1 };
  for (let i = 0; i < levels; i++) value = [value, value];
  return value;
}

export function selfContaining(): Record<string, unknown> {
  const loop: Record<string, unknown> = { t: 1 };
  loop.self = loop;
  return loop;
}

const label = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…(${value.length})` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
  if (Buffer.isBuffer(value)) return `Buffer(${value.length})`;
  return JSON.stringify(value) ?? String(value);
};

/** A name, a value builder, and the codes as for HostileCase. */
export type ValueCase = [name: string, value: () => unknown, codes?: readonly string[]];

/** Sets `property` of the node's good message to each value. */
export function withValues(good: () => NodeMessage, property: string, values: readonly ValueCase[]): HostileCase[] {
  return values.map(([name, value, codes]) => ({ name: `msg.${property}: ${name}`, msg: () => ({ ...good(), [property]: value() }), codes }));
}

const each = (values: readonly unknown[]): ValueCase[] => values.map((v) => [label(v), () => v]);

/** Pathological values for msg.payload. */
export function payloadCases(good: () => NodeMessage): HostileCase[] {
  return withValues(good, 'payload', [
    ['an object nested 3,000 deep', () => deepObject(), TOO_DEEP],
    ['arrays nested 3,000 deep', () => deepArray(), TOO_DEEP],
    ['an object containing itself', selfContaining, TOO_DEEP],
    ['2^40 paths through 40 shared arrays', () => sharedTree(40), TOO_LARGE],
    ['JSON text nested 3,000 deep', () => deepJson()],
    ['JSON text of arrays nested 3,000 deep', () => deepArrayJson()],
    ['JSON text nested 3,000 deep, as a Buffer', () => Buffer.from(deepJson())],
    ['a 10 MB string', tenMegabytes],
    ['a 10 MB Buffer', () => Buffer.alloc(TEN_MB, 0x31)],
    ['an array of 1,000,000 numbers', () => hugeArray()],
    ['an array of 200,000 objects', () => new Array(200_000).fill({ t: 1 }), TOO_LARGE],
    ['an object of 20,000 keys', () => Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]))],
    ...hostileKeyObjects().map((o, i): ValueCase => [`hostile keys ${i + 1} ${JSON.stringify(o)}`, () => o]),
    ...hostileKeyObjects().map((o, i): ValueCase => [`hostile keys ${i + 1} as JSON text`, () => JSON.stringify(o)]),
    ...oddNumbers.map((n): ValueCase => [`{ t: ${String(n)} }`, () => ({ t: n })]),
    ...each(wrongTypes()),
  ]);
}

/** Pathological device ids and topics, and a deep property no node reads. */
export function envelopeCases(good: () => NodeMessage): HostileCase[] {
  return [
    ...withValues(good, 'deviceId', [...each(oddIds), ...each(wrongTypes()), ['an object nested 3,000 deep', () => deepObject(), TOO_DEEP]]),
    ...withValues(good, 'topic', [...each(oddTopics), ...each(wrongTypes()), ['an object nested 3,000 deep', () => deepObject(), TOO_DEEP]]),
    ...withValues(good, 'extra', [
      ['an object nested 3,000 deep', () => deepObject(), TOO_DEEP],
      ['2^40 shared paths', () => sharedTree(40), TOO_LARGE],
    ]),
  ];
}

export { oddIds, oddNumbers, wrongTypes, each };
