// Reads framed records line by line: verifies each, finds records glued behind damage, keeps the rest aside.
import path from 'path';
import { M2MError } from '../../../errors';
import { FORMAT, decodeLine, resyncPoints, type Decoded } from './frame';
import { forEachLine, type Line, type LinesResult } from './lines';
import type { Rejects } from './rejects';

/** Takes a decoded record; returns why it is refused (nothing is applied then), or undefined. */
export type RecordHandler = (value: unknown, format: number, crc: number) => string | undefined;

export function tooNew(file: string, format: number): M2MError {
  return new M2MError(
    'STORE_TOO_NEW',
    `${file} was written in store format ${format} by a newer release; this release reads formats up to ${FORMAT}. Open it with that release or newer; nothing was changed`,
    { details: { file, format, supported: FORMAT } },
  );
}

export interface ReadRecordsOptions {
  /** Full path, for messages. */
  file: string;
  rejects: Rejects;
  maxLineBytes?: number;
}

export function readRecords(chunks: AsyncIterable<Buffer>, handle: RecordHandler, options: ReadRecordsOptions): Promise<LinesResult> {
  const name = path.basename(options.file);
  const take = (decoded: Decoded): string | undefined => {
    if (decoded.ok) return handle(decoded.value, decoded.format, decoded.crc);
    // The checksum matched, so this is a newer release's record, not damage: refuse the whole store.
    if (decoded.tooNew !== undefined) throw tooNew(options.file, decoded.tooNew);
    return decoded.reason;
  };
  return forEachLine(
    chunks,
    (line: Line) => {
      if (line.oversize) {
        options.rejects.add(name, line, line.start, line.end, `a line longer than ${line.end - line.start} bytes (only its start is kept)`);
        return;
      }
      if (line.end === line.start) return;
      const reason = take(decodeLine(line.buf, line.start, line.end));
      if (reason === undefined) return;
      for (const at of resyncPoints(line.buf, line.start, line.end)) {
        const glued = decodeLine(line.buf, at, line.end);
        if (glued.ok && handle(glued.value, glued.format, glued.crc) === undefined) {
          options.rejects.add(name, line, line.start, at, `${reason}; the record after it on the same line was read`);
          return;
        }
      }
      options.rejects.add(name, line, line.start, line.end, reason);
    },
    options.maxLineBytes,
  );
}
