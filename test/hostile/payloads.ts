// Pathological inputs shared by the hostile suite and bench/hostile.ts. Each builder is iterative, so building
// a 100,000-level value cannot overflow the stack of the test itself.
import { encode } from 'cbor-x';

export const DEEP = 3000;
export const TEN_MB = 10 * 1024 * 1024;

/** `{a: {a: ... {v: 1}}}` `levels` deep. */
export function deepObject(levels = DEEP): Record<string, unknown> {
  let value: Record<string, unknown> = { v: 1 };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

/** `[[[...]]]` `levels` deep. */
export function deepArray(levels = DEEP): unknown[] {
  let value: unknown[] = [1];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

/** JSON text of an object nested `levels` deep (about 6 bytes a level: 3,000 levels are 18 KB). */
export function deepJson(levels = DEEP): string {
  return `${'{"a":'.repeat(levels - 1)}{"v":1}${'}'.repeat(levels - 1)}`;
}

/** JSON text of arrays nested `levels` deep. */
export function deepArrayJson(levels = DEEP): string {
  return `${'['.repeat(levels)}1${']'.repeat(levels)}`;
}

export const tenMegabytes = (): string => 'x'.repeat(TEN_MB);

/** Objects with keys that reach a prototype when copied naively, as JSON.parse builds them (own properties). */
export const hostileKeyObjects = (): Array<Record<string, unknown>> => [
  JSON.parse('{"__proto__": {"polluted": 1}, "t": 1}') as Record<string, unknown>,
  JSON.parse('{"constructor": {"prototype": {"polluted": 1}}, "t": 1}') as Record<string, unknown>,
  JSON.parse('{"prototype": {"polluted": 1}, "t": 1}') as Record<string, unknown>,
  JSON.parse('{"a": {"__proto__": {"isAdmin": true}}, "t": 1}') as Record<string, unknown>,
];

export const oddNumbers = [NaN, Infinity, -Infinity, Number.MAX_VALUE, -0, 2 ** 64];

/** Ids and topics that must never become an MQTT topic level, a wildcard or a prototype key. */
export const oddIds = ['a/b', '+', '#', 'dev/#', 'nul\u0000id', '', ' ', '__proto__', 'constructor', 'x'.repeat(200), '\uD800', '../..'];

export const oddTopics = [
  '',
  '/',
  '//',
  '#',
  '+/+/+',
  'devices/+/telemetry',
  'devices/#',
  'devices/\u0000/telemetry',
  'devices/__proto__/telemetry',
  `devices/${'x'.repeat(70_000)}/telemetry`,
];

/** Values of the wrong type for any field. */
export const wrongTypes = (): unknown[] => [
  null,
  undefined,
  0,
  -1,
  true,
  'text',
  [],
  {},
  [[]],
  Buffer.alloc(0),
  Buffer.from([0xff, 0x00]),
  () => 1,
  Symbol('s'),
  10n,
];

export const hugeArray = (length = 1_000_000): number[] => new Array<number>(length).fill(1);

class CborWriter {
  readonly bytes: number[] = [];
  head(major: number, n: number): this {
    if (n < 24) this.bytes.push((major << 5) | n);
    else if (n < 256) this.bytes.push((major << 5) | 24, n);
    else if (n < 65536) this.bytes.push((major << 5) | 25, n >> 8, n & 0xff);
    else this.bytes.push((major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
    return this;
  }
  text(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.head(3, b.length);
    for (const byte of b) this.bytes.push(byte);
    return this;
  }
  done(): Buffer {
    return Buffer.from(this.bytes);
  }
}

/**
 * A SenML pack of `refs` records that are all one map, shared through CBOR value sharing (tags 28/29):
 * about 2 bytes a record, but a decoder that resolves the references walks the map `refs` times.
 */
export function sharedCbor(refs = 10_000, entries = 200): Buffer {
  const w = new CborWriter().head(4, refs);
  w.head(6, 28)
    .head(5, entries + 2)
    .head(0, 0)
    .text('urn:dev:ow:shared')
    .head(0, 2)
    .head(0, 1);
  for (let i = 0; i < entries; i++) w.text(`k${i}`).head(0, i);
  for (let i = 1; i < refs; i++) w.head(6, 29).head(0, 0);
  return w.done();
}

/** Arrays of [level below, reference to the level below], `levels` deep: 2^levels paths through `levels` objects. */
export function sharedCborTree(levels = 40): Buffer {
  const w = new CborWriter();
  for (let i = 0; i < levels; i++) w.head(6, 28).head(4, 2); // shareable value i: [value i+1, ref(i+1)]
  w.head(6, 28).head(5, 2).head(0, 0).text('urn:dev:ow:tree').head(0, 2).head(0, 1); // shareable value `levels`
  for (let i = levels - 1; i >= 0; i--) w.head(6, 29).head(0, i + 1);
  return w.done();
}

/** A valid CBOR SenML pack of one record, for the "still works afterwards" check. */
export const goodCbor = (): Buffer => Buffer.from(encode([{ 0: 'urn:dev:ow:good', 2: 21.5 }]));

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A protobuf length-delimited field. */
function lengthDelimited(field: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(body.length)]), body]);
}

/**
 * A Sparkplug B payload whose one metric holds a template holding a metric holding a template... `levels`
 * deep (Metric.template_value = 18, Template.metrics = 2, Payload.metrics = 2): about 6 bytes a level.
 */
export function sparkplugDeepTemplates(levels = DEEP): Buffer {
  let metric = lengthDelimited(1, Buffer.from('t'));
  for (let i = 0; i < levels; i++) metric = lengthDelimited(18, lengthDelimited(2, metric));
  return lengthDelimited(2, metric);
}

/** CBOR arrays nested `levels` deep around one integer: one byte a level. */
export const cborDeepArrays = (levels = DEEP): Buffer => Buffer.concat([Buffer.alloc(levels, 0x81), Buffer.from([0x01])]);

/** A CBOR array header that claims 2^64-1 items, then nothing. */
export const cborHugeHeader = (): Buffer => Buffer.from([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
