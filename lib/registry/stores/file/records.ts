// Reads framed records line by line: verifies each, finds records glued behind damage, keeps the rest aside.
import path from 'path';
import { M2MError } from '../../../errors';
import { FORMAT, checkFrame, decodeLine, resyncPoints } from './frame';
import { forEachLine, type Line, type LinesResult } from './lines';
import type { Rejects } from './rejects';

/** Takes a decoded record; returns why it is refused (nothing is applied then), or undefined. */
export type RecordHandler = (value: unknown, format: number, crc: number) => string | undefined;

export function tooNew(file: string, format: number, reads = `formats up to ${FORMAT}`): M2MError {
  return new M2MError(
    'STORE_TOO_NEW',
    `${file} was written in store format ${format} by a newer release; this release reads ${reads}. Open it with that release or newer; nothing was changed`,
    { details: { file, format, supported: FORMAT } },
  );
}

export interface ReadRecordsOptions {
  /** Full path, for messages. */
  file: string;
  rejects: Rejects;
  maxLineBytes?: number;
  /**
   * The longest string the reader may build (V8's own limit when unset). Tests inject a small one to show that
   * a file is never read as one string: batches are cut to fit it.
   */
  maxStringBytes?: number;
}

interface Pending {
  line: Line;
  jsonStart: number;
  format: number;
  crc: number;
}

/** Lines whose frames are checked are parsed together, one JSON.parse per batch: far cheaper than one per line. */
const BATCH_BYTES = 1024 * 1024;

export function readRecords(chunks: AsyncIterable<Buffer>, handle: RecordHandler, options: ReadRecordsOptions): Promise<LinesResult> {
  const name = path.basename(options.file);
  const reject = (line: Line, reason: string, end = line.end): void => options.rejects.add(name, line, line.start, end, reason);
  let batch: Pending[] = [];
  let batchBytes = 0;
  const maxString = options.maxStringBytes ?? Infinity;
  const batchLimit = Math.min(BATCH_BYTES, maxString);
  const text = (buf: Buffer, start: number, end: number): string => {
    if (end - start > maxString) throw new RangeError(`Invalid string length (${end - start} bytes, limit ${maxString})`);
    return buf.toString('utf8', start, end);
  };

  const parseBatch = (entries: Pending[]): unknown[] | undefined => {
    if (entries.length < 2) return undefined;
    const scratch = Buffer.allocUnsafe(batchBytes + entries.length + 1);
    let at = 0;
    entries.forEach((e, i) => {
      scratch[at++] = i === 0 ? 0x5b : 0x2c; // "[" first, then ","
      at += e.line.buf.copy(scratch, at, e.jsonStart, e.line.end);
    });
    scratch[at++] = 0x5d; // "]"
    const batchText = text(scratch, 0, at);
    try {
      const values = JSON.parse(batchText) as unknown;
      return Array.isArray(values) && values.length === entries.length ? values : undefined;
    } catch {
      return undefined; // some line is not JSON: parse them one by one to find it
    }
  };
  const flush = (): void => {
    if (batch.length === 0) return;
    const entries = batch;
    batch = [];
    const values = parseBatch(entries);
    batchBytes = 0;
    entries.forEach((e, i) => {
      let value: unknown;
      if (values) value = values[i];
      else {
        const lineText = text(e.line.buf, e.jsonStart, e.line.end);
        try {
          value = JSON.parse(lineText) as unknown;
        } catch {
          return reject(e.line, 'not JSON');
        }
      }
      const reason = handle(value, e.format, e.crc);
      if (reason !== undefined) reject(e.line, reason);
    });
  };

  /** A line that is not a plain current-format record: a bare JSON line of format 1, or damage. */
  const readSlowly = (line: Line): void => {
    const decoded = decodeLine(line.buf, line.start, line.end);
    // The checksum matched, so this is a newer release's record, not damage: refuse the whole store.
    if (!decoded.ok && decoded.tooNew !== undefined) throw tooNew(options.file, decoded.tooNew);
    const reason = decoded.ok ? handle(decoded.value, decoded.format, decoded.crc) : decoded.reason;
    if (reason === undefined) return;
    for (const at of resyncPoints(line.buf, line.start, line.end)) {
      const glued = decodeLine(line.buf, at, line.end);
      if (glued.ok && handle(glued.value, glued.format, glued.crc) === undefined) {
        reject(line, `${reason}; the record after it on the same line was read`, at);
        return;
      }
    }
    reject(line, reason);
  };

  const onLine = (line: Line): void => {
    if (line.end === line.start) return;
    if (line.oversize) {
      flush();
      reject(line, `a line longer than ${line.end - line.start} bytes (only its start is kept)`);
      return;
    }
    const checked = checkFrame(line.buf, line.start, line.end);
    if (checked.ok && checked.format === FORMAT) {
      const length = line.end - checked.jsonStart;
      // The batch's text is its lines, a comma between each two, and brackets.
      if (batchBytes + batch.length + length + 2 > batchLimit) flush();
      batch.push({ line, jsonStart: checked.jsonStart, format: checked.format, crc: checked.crc });
      batchBytes += length;
      return;
    }
    flush(); // keep the file's order
    readSlowly(line);
  };
  return forEachLine(chunks, onLine, options.maxLineBytes, flush).then((result) => {
    flush();
    return result;
  });
}
