// One record per line, in the journal and in the snapshot alike:
//
//   <crc32, 8 hex digits> <format version> <JSON>\n
//
// The checksum covers "<format version> <JSON>", so a damaged version number is caught like any damaged byte.
// This frame (checksum, space, version, space) is fixed for every future format, so that a newer release's
// record is recognised and refused (STORE_TOO_NEW) rather than mistaken for damage. Lines written by releases
// before format 2 are bare JSON objects without a checksum: they start with "{" and are read as format 1.
import { crc32, crc32Utf8, hex8 } from './crc32';

/** The format this release writes. */
export const FORMAT = 2;
/** Bare JSON lines and the single-JSON snapshot of the first release. */
export const LEGACY_FORMAT = 1;

export interface Framed {
  line: string;
  crc: number;
}

export function frame(json: string): Framed {
  const body = `${FORMAT} ${json}`;
  const crc = crc32Utf8(body);
  return { line: `${hex8(crc)} ${body}\n`, crc };
}

const VERSION_PREFIX = `${FORMAT} `;
const NEWLINE = 0x0a;

/** Bytes a framed line of `json` needs at most (UTF-8 takes up to 3 bytes per UTF-16 unit). */
export function maxFramedBytes(json: string): number {
  return 9 + VERSION_PREFIX.length + json.length * 3 + 1;
}

/** Bytes a framed line of `json` takes exactly. */
export function framedBytes(json: string): number {
  return 9 + VERSION_PREFIX.length + Buffer.byteLength(json, 'utf8') + 1;
}

/**
 * Encodes the framed line of `json` straight into `buf` at `pos` (which must have room, see the two functions
 * above), so a snapshot's bytes are encoded once and never joined into a string; returns the end and the CRC.
 */
export function frameInto(buf: Buffer, pos: number, json: string): { end: number; crc: number } {
  // Byte by byte where that saves a call into C++ per record: a snapshot has a line per device.
  let at = pos + 9;
  for (let i = 0; i < VERSION_PREFIX.length; i++) buf[at++] = VERSION_PREFIX.charCodeAt(i);
  at += buf.write(json, at, 'utf8');
  const crc = crc32(buf.subarray(pos + 9, at));
  for (let i = 0; i < 8; i++) buf[pos + i] = HEX_DIGITS[(crc >>> (28 - 4 * i)) & 0xf];
  buf[pos + 8] = SPACE;
  buf[at] = NEWLINE;
  return { end: at + 1, crc };
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

export type Decoded = { ok: true; format: number; value: unknown; crc: number } | { ok: false; reason: string; tooNew?: number };
/** A line whose frame (checksum and version) is right; its JSON is at `buf[jsonStart, end)`, not parsed yet. */
export type Checked = { ok: true; format: number; crc: number; jsonStart: number } | { ok: false; reason: string; tooNew?: number };

const OPEN_BRACE = 0x7b;
const SPACE = 0x20;

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

/** Checks the frame of the line `buf[start, end)` (without its newline); a bare JSON line is format 1. */
export function checkFrame(buf: Buffer, start: number, end: number): Checked {
  if (buf[start] === OPEN_BRACE) return { ok: true, format: LEGACY_FORMAT, crc: 0, jsonStart: start };
  if (end - start < 12 || buf[start + 8] !== SPACE) return { ok: false, reason: 'not a record (no checksum)' };
  let expected = 0;
  for (let i = start; i < start + 8; i++) {
    const digit = hexDigit(buf[i]);
    if (digit < 0) return { ok: false, reason: 'not a record (no checksum)' };
    expected = expected * 16 + digit;
  }
  const crc = crc32(buf.subarray(start + 9, end));
  if (crc !== expected) return { ok: false, reason: 'checksum mismatch' };
  let format = 0;
  let at = start + 9;
  while (at < end && at < start + 16 && buf[at] >= 0x30 && buf[at] <= 0x39) format = format * 10 + (buf[at++] - 0x30);
  if (at === start + 9 || buf[at] !== SPACE) return { ok: false, reason: 'no format version' };
  if (format > FORMAT) return { ok: false, reason: `format ${format} is newer than this release reads (${FORMAT})`, tooNew: format };
  if (format < FORMAT) return { ok: false, reason: `unknown record format ${format}` };
  return { ok: true, format, crc, jsonStart: at + 1 };
}

/** Decodes the line `buf[start, end)` (without its newline). Never throws. */
export function decodeLine(buf: Buffer, start: number, end: number): Decoded {
  const checked = checkFrame(buf, start, end);
  if (!checked.ok) return checked;
  try {
    return { ok: true, format: checked.format, value: JSON.parse(buf.toString('utf8', checked.jsonStart, end)) as unknown, crc: checked.crc };
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
}

const FRAME_START = /[0-9a-f]{8} \d{1,6} \{/g;
const LEGACY_START = /\{"o":"/g;

/**
 * Where a record might start inside a damaged line, after its first byte: a torn write that the first release
 * did not cut back had the next record glued onto it, and a run of NULs can swallow the newline before one.
 * Only frames are looked for, except in a bare JSON line of the first release: inside a framed record its own
 * JSON would look like a bare record and be read without its checksum.
 */
export function resyncPoints(buf: Buffer, start: number, end: number): number[] {
  const text = buf.toString('latin1', start, end);
  const points: number[] = [];
  const patterns = buf[start] === OPEN_BRACE ? [FRAME_START, LEGACY_START] : [FRAME_START];
  for (const pattern of patterns) {
    pattern.lastIndex = 1;
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) points.push(start + m.index);
  }
  return points.sort((a, b) => a - b);
}
