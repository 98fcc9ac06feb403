// Splits a stream of chunks into lines without ever holding more than one chunk plus one line, so a file's
// size is bounded by the disk, not by the longest string or buffer V8 can make.

export interface Line {
  buf: Buffer;
  start: number;
  /** Exclusive, without the newline. */
  end: number;
  /** Byte offset of the line in the file. */
  offset: number;
  /** 1-based line number. */
  number: number;
  /** The line was longer than `maxLineBytes`; `buf` holds only its first bytes. */
  oversize: boolean;
}

export interface LinesResult {
  /** Bytes read. */
  bytes: number;
  /** Offset just after the last complete line. */
  wholeBytes: number;
  /** A last line without its newline (a torn write), if any. */
  tail?: Line;
}

export const DEFAULT_MAX_LINE_BYTES = 256 * 1024 * 1024;
const NEWLINE = 0x0a;

export async function forEachLine(
  chunks: AsyncIterable<Buffer>,
  onLine: (line: Line) => void,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  /** Called after the lines of each chunk (the lines handed out so far may be processed together). */
  onChunkEnd?: () => void,
): Promise<LinesResult> {
  let base = 0;
  let number = 0;
  // The line that spans chunks: its pieces, their length, where it starts, and whether it outgrew the limit.
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let carryOffset = 0;
  let oversize = false;

  const takeCarry = (): Line => {
    const buf = carry.length === 1 ? carry[0] : Buffer.concat(carry);
    const line = { buf, start: 0, end: buf.length, offset: carryOffset, number: ++number, oversize };
    carry = [];
    carryBytes = 0;
    oversize = false;
    return line;
  };
  const keep = (piece: Buffer, offset: number): void => {
    if (carryBytes === 0 && !oversize) carryOffset = offset;
    if (oversize) return;
    if (carryBytes + piece.length > maxLineBytes) {
      carry.push(piece.subarray(0, maxLineBytes - carryBytes));
      carryBytes = maxLineBytes;
      oversize = true;
      return;
    }
    carry.push(piece);
    carryBytes += piece.length;
  };

  for await (const chunk of chunks) {
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, pos);
      if (nl === -1) {
        keep(chunk.subarray(pos), base + pos);
        break;
      }
      if (carryBytes > 0 || oversize) {
        keep(chunk.subarray(pos, nl), base + pos);
        onLine(takeCarry());
      } else if (nl - pos > maxLineBytes) {
        onLine({ buf: chunk, start: pos, end: pos + maxLineBytes, offset: base + pos, number: ++number, oversize: true });
      } else {
        onLine({ buf: chunk, start: pos, end: nl, offset: base + pos, number: ++number, oversize: false });
      }
      pos = nl + 1;
    }
    base += chunk.length;
    onChunkEnd?.();
  }
  const pending = carryBytes > 0 || oversize;
  const tail = pending ? takeCarry() : undefined;
  return { bytes: base, wholeBytes: tail ? tail.offset : base, tail };
}
