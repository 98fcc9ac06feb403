import { isHostileKey } from '../safe';
import { CODES, fail } from './fail';
import type { TelemetryRecord } from './types';

// `binary`: a declarative frame spec, one field a row, compiled once into fixed readers.
// value = raw * scale + offset. A frame shorter than its spec is an error naming the field and byte offset.

export const BINARY_TYPES = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64', 'bits'] as const;
export type BinaryType = (typeof BINARY_TYPES)[number];

export interface BinaryFieldSpec {
  name: string;
  type: BinaryType;
  /** 'big' (network order, the default) or 'little'. */
  endian?: 'big' | 'little';
  /** Byte offset of the field in the frame. */
  byteOffset: number;
  scale?: number;
  offset?: number;
  /** For `bits`: lowest bit (0 = least significant) and number of bits (1..32). */
  bitOffset?: number;
  bitLength?: number;
  unit?: string;
}

const enum Kind {
  Int8,
  UInt8,
  Int16,
  UInt16,
  Int32,
  UInt32,
  Int64,
  UInt64,
  Float32,
  Float64,
  Bits,
}

const SIZES: Record<BinaryType, number> = { int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, float32: 4, float64: 8, bits: 0 };
const KINDS: Record<BinaryType, Kind> = {
  int8: Kind.Int8,
  uint8: Kind.UInt8,
  int16: Kind.Int16,
  uint16: Kind.UInt16,
  int32: Kind.Int32,
  uint32: Kind.UInt32,
  int64: Kind.Int64,
  uint64: Kind.UInt64,
  float32: Kind.Float32,
  float64: Kind.Float64,
  bits: Kind.Bits,
};

interface CompiledField {
  name: string;
  kind: Kind;
  little: boolean;
  at: number;
  end: number;
  scale: number;
  offset: number;
  shift: number;
  mask: number;
  /** A single bit with no scaling reads as a boolean. */
  flag: boolean;
}

export interface CompiledFrame {
  fields: readonly CompiledField[];
  /** Bytes the frame must have: the end of its furthest field. */
  length: number;
  units: Record<string, string> | undefined;
}

function configError(index: number, message: string): never {
  return fail(CODES.config, `binary field ${index + 1}: ${message}`, `spec[${index}]`);
}

export function compileFrame(spec: readonly BinaryFieldSpec[]): CompiledFrame {
  if (!Array.isArray(spec) || spec.length === 0) fail(CODES.config, 'the binary frame spec needs at least one field', 'spec');
  const seen = new Set<string>();
  const units: Record<string, string> = {};
  const fields = spec.map((row, index): CompiledField => {
    const name = typeof row.name === 'string' ? row.name.trim() : '';
    if (name === '') configError(index, 'name is empty');
    if (isHostileKey(name)) configError(index, `name "${name}" is not allowed`);
    if (seen.has(name)) configError(index, `name "${name}" is used twice`);
    seen.add(name);
    const type = row.type as BinaryType;
    if (!(BINARY_TYPES as readonly string[]).includes(type)) configError(index, `type "${String(type)}" is not one of ${BINARY_TYPES.join(', ')}`);
    const at = Number(row.byteOffset);
    if (!Number.isInteger(at) || at < 0 || at > 65535) configError(index, `byte offset "${String(row.byteOffset)}" must be an integer 0..65535`);
    const scale = row.scale === undefined || (row.scale as unknown) === '' ? 1 : Number(row.scale);
    const offset = row.offset === undefined || (row.offset as unknown) === '' ? 0 : Number(row.offset);
    if (!Number.isFinite(scale)) configError(index, 'scale must be a number');
    if (!Number.isFinite(offset)) configError(index, 'offset must be a number');
    if (row.endian && row.endian !== 'big' && row.endian !== 'little') configError(index, 'endian must be "big" or "little"');
    let size = SIZES[type];
    let shift = 0;
    let mask = 0;
    if (type === 'bits') {
      shift = Number(row.bitOffset || 0);
      const bits = Number(row.bitLength || 1);
      if (!Number.isInteger(shift) || shift < 0 || !Number.isInteger(bits) || bits < 1 || bits > 32 || shift + bits > 32) {
        configError(index, 'bits need a bit offset >= 0 and a bit length 1..32 that fit in 4 bytes');
      }
      size = Math.ceil((shift + bits) / 8);
      mask = bits === 32 ? 0xffffffff : 2 ** bits - 1;
    }
    if (row.unit) units[name] = String(row.unit);
    const flag = type === 'bits' && mask === 1 && scale === 1 && offset === 0;
    return { name, kind: KINDS[type], little: row.endian === 'little', at, end: at + size, scale, offset, shift, mask, flag };
  });
  return { fields, length: Math.max(...fields.map((f) => f.end)), units: Object.keys(units).length > 0 ? units : undefined };
}

function readBits(bytes: Buffer, f: CompiledField): number {
  let raw = 0;
  const size = f.end - f.at;
  for (let k = 0; k < size; k++) {
    const b = f.little ? bytes[f.at + size - 1 - k] : bytes[f.at + k];
    raw = raw * 256 + b;
  }
  return Math.floor(raw / 2 ** f.shift) % (f.mask + 1);
}

export function decodeBinary(bytes: Buffer, now: number, frame: CompiledFrame): TelemetryRecord {
  if (bytes.length < frame.length) {
    const short = frame.fields.find((f) => f.end > bytes.length) as CompiledField;
    fail(
      CODES.shortFrame,
      `frame is ${bytes.length} bytes; field "${short.name}" needs bytes ${short.at}..${short.end - 1}`,
      `byte ${Math.max(bytes.length, short.at)}`,
      {
        field: short.name,
        byteOffset: short.at,
        frameLength: bytes.length,
      },
    );
  }
  const payload: Record<string, number | boolean> = {};
  const fields = frame.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    let raw: number;
    switch (f.kind) {
      case Kind.Int8:
        raw = bytes.readInt8(f.at);
        break;
      case Kind.UInt8:
        raw = bytes[f.at];
        break;
      case Kind.Int16:
        raw = f.little ? bytes.readInt16LE(f.at) : bytes.readInt16BE(f.at);
        break;
      case Kind.UInt16:
        raw = f.little ? bytes.readUInt16LE(f.at) : bytes.readUInt16BE(f.at);
        break;
      case Kind.Int32:
        raw = f.little ? bytes.readInt32LE(f.at) : bytes.readInt32BE(f.at);
        break;
      case Kind.UInt32:
        raw = f.little ? bytes.readUInt32LE(f.at) : bytes.readUInt32BE(f.at);
        break;
      case Kind.Int64:
        raw = Number(f.little ? bytes.readBigInt64LE(f.at) : bytes.readBigInt64BE(f.at));
        break;
      case Kind.UInt64:
        raw = Number(f.little ? bytes.readBigUInt64LE(f.at) : bytes.readBigUInt64BE(f.at));
        break;
      case Kind.Float32:
        raw = f.little ? bytes.readFloatLE(f.at) : bytes.readFloatBE(f.at);
        break;
      case Kind.Float64:
        raw = f.little ? bytes.readDoubleLE(f.at) : bytes.readDoubleBE(f.at);
        break;
      default:
        raw = readBits(bytes, f);
    }
    if (f.flag) {
      payload[f.name] = raw === 1;
      continue;
    }
    const value = raw * f.scale + f.offset;
    if (!Number.isFinite(value)) {
      fail(CODES.badPayload, `field "${f.name}" at byte offset ${f.at} is not a finite number`, `byte ${f.at}`, { field: f.name, byteOffset: f.at });
    }
    payload[f.name] = value;
  }
  // each record gets its own units object, so a downstream node changing one cannot change the next
  return { timestamp: now, payload, units: frame.units && { ...frame.units } };
}
