// The snapshot, written and read as a stream of framed lines so its size is bounded by the disk, not by the
// longest string V8 can make (~512 MiB, about 2.5M devices as one JSON string):
//
//   <crc> 2 {"m2m":"snapshot","createdAt":...}       header
//   <crc> 2 {"o":"p","d":{...device...}}              one line per device
//   <crc> 2 {"o":"sp","n":namespace,"k":key,"v":...}  one line per state entry
//   <crc> 2 {"end":true,"count":N,"crc":"..."}        trailer: record count and the CRC of the records' CRCs
//
// A snapshot is renamed into place only once its trailer is on disk, so one without a trailer was damaged later.
import { crc32Table, hex8 } from './crc32';
import { LEGACY_FORMAT, frameInto, framedBytes, maxFramedBytes } from './frame';
import { DEFAULT_MAX_LINE_BYTES, type LinesResult } from './lines';
import { checkOp, stepUp, type StoreOp } from './ops';
import { readRecords, tooNew } from './records';
import type { Rejects } from './rejects';
import type { StoredDevice } from '../types';

export interface ChunkSink {
  write(chunk: Buffer): Promise<void>;
}

export interface SnapshotWritten {
  count: number;
  bytes: number;
  /** The trailer line as written, to check the file's end against. */
  trailer: Buffer;
}

export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** What a registry holds, as snapshot operations (one device or state entry each), produced lazily. */
export function* snapshotOps(devices: Iterable<StoredDevice>, state: Iterable<[string, Iterable<[string, unknown]>]>): Generator<StoreOp> {
  for (const d of devices) yield { o: 'p', d };
  for (const [n, entries] of state) for (const [k, v] of entries) yield { o: 'sp', n, k, v };
}

/**
 * Writes the records to `sink` in chunks of about `chunkBytes`, each record encoded once, straight into the
 * chunk: no string longer than one record's JSON is ever built. `sink.write` must be done with the chunk when
 * its promise resolves (the buffer is reused).
 */
export async function writeSnapshot(
  ops: Iterable<StoreOp> | AsyncIterable<StoreOp>,
  sink: ChunkSink,
  /** `maxStringLength`: the longest string it may build (V8's own limit when unset; tests inject a small one). */
  options: { chunkBytes?: number; now?: number; maxStringLength?: number } = {},
): Promise<SnapshotWritten> {
  const maxString = options.maxStringLength ?? Infinity;
  const stringify = (value: unknown): string => {
    const json = JSON.stringify(value);
    if (json.length > maxString) throw new RangeError(`Invalid string length (${json.length}, limit ${maxString})`);
    return json;
  };
  const chunk = Buffer.allocUnsafe(options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  let pos = 0;
  let bytes = 0;
  let count = 0;
  let crcOfCrcs = 0;
  const crcBytes = Buffer.alloc(4);
  const flush = async (): Promise<void> => {
    if (pos === 0) return;
    bytes += pos;
    const full = chunk.subarray(0, pos);
    pos = 0;
    await sink.write(full);
  };
  /** Adds one line; returns a promise only when the chunk had to be written first (most records need no await). */
  const add = (json: string): Promise<number> | number => {
    if (pos + maxFramedBytes(json) <= chunk.length) {
      const framed = frameInto(chunk, pos, json);
      pos = framed.end;
      return framed.crc;
    }
    return flush().then(async () => {
      if (maxFramedBytes(json) <= chunk.length) return add(json) as number;
      // A record larger than a chunk gets a buffer of its own.
      const own = Buffer.allocUnsafe(framedBytes(json));
      const framed = frameInto(own, 0, json);
      bytes += own.length;
      await sink.write(own);
      return framed.crc;
    });
  };
  const record = (crc: number): void => {
    count++;
    crcBytes.writeUInt32BE(crc);
    crcOfCrcs = crc32Table(crcBytes, crcOfCrcs);
  };
  await add(JSON.stringify({ m2m: 'snapshot', createdAt: options.now ?? Date.now() }));
  if (Symbol.asyncIterator in ops) {
    for await (const op of ops) record(await add(stringify(op)));
  } else {
    for (const op of ops) {
      const crc = add(stringify(op));
      record(typeof crc === 'number' ? crc : await crc);
    }
  }
  const trailer = JSON.stringify({ end: true, count, crc: hex8(crcOfCrcs) });
  const trailerLine = Buffer.allocUnsafe(framedBytes(trailer));
  frameInto(trailerLine, 0, trailer);
  await add(trailer);
  await flush();
  return { count, bytes, trailer: trailerLine };
}

export interface SnapshotRead extends LinesResult {
  count: number;
  /** What is wrong with the file as a whole (no header, no trailer, a count that does not match). */
  problems: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a format-2 snapshot, handing each valid operation to `apply`; damaged lines go to `rejects`. */
export async function readSnapshot(
  chunks: AsyncIterable<Buffer>,
  apply: (op: StoreOp) => void,
  options: { file: string; rejects: Rejects; maxLineBytes?: number; maxStringBytes?: number },
): Promise<SnapshotRead> {
  let header = false;
  let trailer: Record<string, unknown> | undefined;
  let count = 0;
  let crcOfCrcs = 0;
  const crcBytes = Buffer.alloc(4);
  const problems: string[] = [];
  const result = await readRecords(
    chunks,
    (value, format, crc) => {
      if (trailer) return 'a record after the trailer';
      if (isObject(value) && value.m2m === 'snapshot') {
        if (header || count > 0) return 'a second header';
        header = true;
        return undefined;
      }
      if (isObject(value) && value.end === true) {
        trailer = value;
        return undefined;
      }
      const op = checkOp(stepUp(value, format));
      if (typeof op === 'string') return op;
      apply(op);
      count++;
      crcBytes.writeUInt32BE(crc);
      crcOfCrcs = crc32Table(crcBytes, crcOfCrcs);
      return undefined;
    },
    { ...options, maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES },
  );
  if (!header) problems.push('its header is missing or damaged');
  if (!trailer) problems.push(`it ends without its trailer after ${count} records (cut short after it was written)`);
  else if (trailer.count !== count || trailer.crc !== hex8(crcOfCrcs)) {
    problems.push(`its trailer lists ${String(trailer.count)} records, ${count} were read whole`);
  }
  return { ...result, count, problems };
}

/** Reads the single-JSON snapshot of the first release (format 1). Throws a SyntaxError if it is not JSON. */
export function readLegacySnapshot(text: string, apply: (op: StoreOp) => void, reject: (value: unknown, reason: string) => void, file: string): number {
  const parsed = JSON.parse(text) as unknown;
  if (!isObject(parsed)) throw new SyntaxError('not a JSON object');
  const version = typeof parsed.version === 'number' ? parsed.version : LEGACY_FORMAT;
  if (version > LEGACY_FORMAT) throw tooNew(file, version, `single-JSON snapshots of version ${LEGACY_FORMAT} only`);
  let count = 0;
  const ops: unknown[] = [];
  if (Array.isArray(parsed.devices)) for (const d of parsed.devices) ops.push({ o: 'p', d });
  else if (parsed.devices !== undefined) reject(parsed.devices, 'the device list is not an array');
  if (isObject(parsed.state)) {
    for (const [n, entries] of Object.entries(parsed.state)) {
      if (!isObject(entries)) reject({ [n]: entries }, 'a state namespace that is not an object');
      else for (const [k, v] of Object.entries(entries)) ops.push({ o: 'sp', n, k, v });
    }
  }
  for (const value of ops) {
    const op = checkOp(stepUp(value, LEGACY_FORMAT));
    if (typeof op === 'string') reject(value, op);
    else {
      apply(op);
      count++;
    }
  }
  return count;
}
