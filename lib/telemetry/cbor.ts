import { emptyRecord, isHostileKey } from '../safe';
import { CODES, fail, tooManyRecords } from './fail';

// A small CBOR reader (RFC 8949) for untrusted payloads, with what SenML-CBOR (RFC 8428 section 6) needs.
// Its cost is linear in the payload's bytes: every data item consumes at least one byte and nothing is
// decoded twice, because value sharing (tags 28/29) is refused instead of resolved. Nesting is bounded,
// maps become objects without a prototype, and every error is an INVALID_PAYLOAD naming the byte offset.

export type CborValue = number | string | boolean | null | undefined | Uint8Array | CborValue[] | CborMap;
/** A CBOR map: integer keys become their decimal text; the object has no prototype. */
export interface CborMap {
  [key: string]: CborValue;
}

export interface CborLimits {
  /** Deepest nesting of arrays, maps and tags. */
  maxDepth: number;
  /** Most array elements plus map entries in the whole payload. */
  maxItems: number;
}

const BREAK = 0xff;
const INDEFINITE = 31;
const TAG_DECIMAL_FRACTION = 4;
const TAG_SHAREABLE = 28;
const TAG_SHARED_REF = 29;
/** "A map with keys of any type" (IANA registry); JavaScript encoders such as cbor-x add it to every Map. */
const TAG_MAP = 259;
/** A byte string marked as a Uint8Array (RFC 8746); cbor-x adds it to every Uint8Array that is not a Buffer. */
const TAG_UINT8_ARRAY = 64;
const TAG_SELF_DESCRIBED = 55799;
const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Strings up to this length are checked for ASCII and built without TextDecoder (its call costs more). */
const SHORT_TEXT = 64;

export class CborReader {
  private pos = 0;
  private items = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: CborLimits,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  /** Reads an array header: its length, or -1 for an indefinite-length array (end it with atBreak()). */
  arrayHeader(what: string): number {
    return this.header(4, what);
  }

  /** Reads a map header at `depth`: its number of entries, or -1 for an indefinite-length map. */
  mapHeader(what: string | number, depth: number): number {
    this.enter(depth, this.pos);
    return this.header(5, what);
  }

  /** `what` names the item in an error: text, or the index of a record (so no text is built unless it fails). */
  private header(major: number, what: string | number): number {
    let start = this.pos;
    let initial = this.byte();
    while (initial >> 5 === 6) {
      const tag = this.argument(initial & 0x1f, start);
      if (tag === TAG_SHAREABLE || tag === TAG_SHARED_REF) this.sharedReference(tag, start);
      if (tag !== TAG_SELF_DESCRIBED && !(tag === TAG_MAP && major === 5)) break;
      start = this.pos;
      initial = this.byte();
    }
    if (initial >> 5 !== major) {
      this.invalid(
        `${typeof what === 'number' ? `record ${what}` : what} must be a CBOR ${major === 4 ? 'array' : 'map'}, got major type ${initial >> 5}`,
        start,
      );
    }
    const info = initial & 0x1f;
    return info === INDEFINITE ? -1 : this.length(info, start);
  }

  /** In an indefinite-length container: true (and the break consumed) when it ends here. */
  atBreak(): boolean {
    if (this.pos >= this.bytes.length) this.truncated();
    if (this.bytes[this.pos] !== BREAK) return false;
    this.pos++;
    return true;
  }

  /** Counts one array element or map entry against the item budget, before it is decoded. */
  countItem(): void {
    if (++this.items > this.limits.maxItems) tooManyRecords(this.items, this.limits.maxItems, 'CBOR array elements and map entries');
  }

  /** Decodes the next data item. `depth` is the nesting of the container it is in. */
  value(depth: number): CborValue {
    const start = this.pos;
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return this.argument(info, start);
      case 1:
        return -1 - this.argument(info, start);
      case 2:
        return info === INDEFINITE ? this.chunks(2, start) : this.take(this.length(info, start));
      case 3:
        return info === INDEFINITE ? this.chunks(3, start) : this.text(this.length(info, start), start);
      case 4:
        return this.array(info, depth + 1, start);
      case 5:
        return this.map(info, depth + 1, start);
      case 6:
        return this.tagged(this.argument(info, start), depth + 1, start);
      default:
        return this.simple(info, start);
    }
  }

  /** Fails unless every byte was read. */
  end(): void {
    if (this.pos !== this.bytes.length) this.invalid(`${this.bytes.length - this.pos} bytes follow the end of the CBOR value`, this.pos);
  }

  private byte(): number {
    if (this.pos >= this.bytes.length) this.truncated();
    return this.bytes[this.pos++];
  }

  private need(count: number): void {
    if (count > this.bytes.length - this.pos) this.truncated();
  }

  /** The unsigned argument of a head (RFC 8949 section 3); 64-bit values above 2^53 are rounded to a double. */
  private argument(info: number, start: number): number {
    if (info < 24) return info;
    const view = this.view;
    const at = this.pos;
    switch (info) {
      case 24:
        this.need(1);
        this.pos += 1;
        return this.bytes[at];
      case 25:
        this.need(2);
        this.pos += 2;
        return view.getUint16(at);
      case 26:
        this.need(4);
        this.pos += 4;
        return view.getUint32(at);
      case 27:
        this.need(8);
        this.pos += 8;
        return view.getUint32(at) * 0x1_0000_0000 + view.getUint32(at + 4);
      default:
        return this.invalid(info === INDEFINITE ? 'an indefinite length is not allowed here' : `reserved additional information ${info}`, start);
    }
  }

  /** A definite length, which can never exceed the bytes left (each element or byte takes at least one). */
  private length(info: number, start: number): number {
    const n = this.argument(info, start);
    if (n > this.bytes.length - this.pos) this.invalid(`length ${n} exceeds the ${this.bytes.length - this.pos} bytes left`, start);
    return n;
  }

  private take(length: number): Uint8Array {
    this.need(length);
    const out = new Uint8Array(this.bytes.subarray(this.pos, this.pos + length)); // a copy, never a view of the input
    this.pos += length;
    return out;
  }

  private text(length: number, start: number): string {
    this.need(length);
    const bytes = this.bytes;
    const from = this.pos;
    const to = from + length;
    this.pos = to;
    if (length <= SHORT_TEXT) {
      let text = '';
      let i = from;
      for (; i < to && bytes[i] < 0x80; i++) text += String.fromCharCode(bytes[i]);
      if (i === to) return text;
    }
    try {
      return UTF8.decode(bytes.subarray(from, to));
    } catch {
      return this.invalid('text string is not valid UTF-8', start);
    }
  }

  /** An indefinite-length byte or text string: definite chunks of the same major type up to a break. */
  private chunks(major: 2 | 3, start: number): Uint8Array | string {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      if (this.atBreak()) break;
      const at = this.pos;
      const initial = this.byte();
      if (initial >> 5 !== major || (initial & 0x1f) === INDEFINITE)
        this.invalid('a chunk of an indefinite-length string must be a definite string of the same type', at);
      const length = this.length(initial & 0x1f, at);
      if (major === 3)
        this.text(length, at); // each chunk must be valid UTF-8 on its own
      else this.pos += length;
      parts.push(this.bytes.subarray(this.pos - length, this.pos));
      total += length;
    }
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    if (major === 2) return joined;
    try {
      return UTF8.decode(joined);
    } catch {
      return this.invalid('text string is not valid UTF-8', start);
    }
  }

  private enter(depth: number, start: number): void {
    if (depth > this.limits.maxDepth) this.invalid(`CBOR nesting is deeper than ${this.limits.maxDepth} levels`, start);
  }

  private array(info: number, depth: number, start: number): CborValue[] {
    this.enter(depth, start);
    const out: CborValue[] = [];
    if (info === INDEFINITE) {
      while (!this.atBreak()) {
        this.countItem();
        out.push(this.value(depth));
      }
      return out;
    }
    const length = this.length(info, start);
    for (let i = 0; i < length; i++) {
      this.countItem();
      out.push(this.value(depth));
    }
    return out;
  }

  private map(info: number, depth: number, start: number): CborMap {
    this.enter(depth, start);
    const out = emptyRecord<CborValue>();
    const length = info === INDEFINITE ? -1 : this.length(info, start);
    for (let i = 0; length < 0 ? !this.atBreak() : i < length; i++) {
      this.countItem();
      const at = this.pos;
      const key = String(this.key());
      if (key in out) this.invalid(`map key "${key.slice(0, 40)}" appears twice`, at);
      out[key] = this.value(depth);
    }
    return out;
  }

  /** A map key: an integer or a text string; anything else is refused, and so are hostile text keys. */
  key(): number | string {
    const start = this.pos;
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    let key: number | string;
    if (major === 0) key = this.argument(info, start);
    else if (major === 1) key = -1 - this.argument(info, start);
    else if (major === 3 && info !== INDEFINITE) {
      key = this.text(this.length(info, start), start);
      if (isHostileKey(key)) fail(CODES.hostileKey, `CBOR map key "${key}" at byte offset ${start} is not allowed`, `byte ${start}`, { offset: start });
    } else return this.invalid('a map key must be an integer or a text string', start);
    return key;
  }

  private tagged(tag: number, depth: number, start: number): CborValue {
    this.enter(depth, start);
    switch (tag) {
      case TAG_SHAREABLE:
      case TAG_SHARED_REF:
        return this.sharedReference(tag, start);
      case TAG_SELF_DESCRIBED:
        return this.value(depth);
      case TAG_MAP:
      case TAG_UINT8_ARRAY:
        if (this.pos < this.bytes.length && this.bytes[this.pos] >> 5 !== (tag === TAG_MAP ? 5 : 2))
          this.invalid(`tag ${tag} must mark a ${tag === TAG_MAP ? 'map' : 'byte string'}`, start);
        return this.value(depth);
      case TAG_DECIMAL_FRACTION:
        return this.decimalFraction(depth, start);
      case 2:
      case 3:
        return this.invalid('bignums (CBOR tags 2 and 3) are not supported', start);
      default:
        return this.invalid(`CBOR tag ${tag} is not supported`, start);
    }
  }

  /** Tag 4 (RFC 8949 section 3.4.4): [exponent, mantissa] with integers, as the nearest double. */
  private decimalFraction(depth: number, start: number): number {
    const pair = this.value(depth);
    if (!Array.isArray(pair) || pair.length !== 2 || !Number.isInteger(pair[0]) || !Number.isInteger(pair[1])) {
      return this.invalid('a decimal fraction (tag 4) must be [exponent, mantissa] integers', start);
    }
    const value = Number(`${pair[1] as number}e${pair[0] as number}`);
    if (!Number.isFinite(value)) this.invalid('a decimal fraction (tag 4) beyond the range of a double', start);
    return value;
  }

  private simple(info: number, start: number): CborValue {
    const view = this.view;
    const at = this.pos;
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
        this.need(2);
        this.pos += 2;
        return halfFloat(view.getUint16(at));
      case 26:
        this.need(4);
        this.pos += 4;
        return view.getFloat32(at);
      case 27:
        this.need(8);
        this.pos += 8;
        return view.getFloat64(at);
      case INDEFINITE:
        return this.invalid('a break (0xff) outside an indefinite-length item', start);
      default:
        return this.invalid(
          info >= 28 ? `reserved additional information ${info}` : `CBOR simple value ${info === 24 ? this.byte() : info} is not supported`,
          start,
        );
    }
  }

  private sharedReference(tag: number, start: number): never {
    return this.invalid(`shared references (CBOR tag ${tag}) are refused: one value referenced many times would be decoded once per reference`, start);
  }

  private truncated(): never {
    return this.invalid('CBOR payload ends inside a data item', this.bytes.length);
  }

  private invalid(reason: string, offset: number): never {
    return fail(CODES.badPayload, `payload is not valid CBOR: ${reason} at byte offset ${offset}`, `byte ${offset}`, { offset });
  }
}

/** IEEE 754 half precision (RFC 8949 appendix D). */
function halfFloat(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** Decodes one whole CBOR payload (no trailing bytes). */
export function decodeCbor(bytes: Uint8Array, limits: CborLimits): CborValue {
  const reader = new CborReader(bytes, limits);
  const value = reader.value(0);
  reader.end();
  return value;
}
