// Records that could not be read are kept aside in <dir>/rejected-<time>.jsonl, never silently deleted, and
// reported in one warning per file that says how many and where.
import path from 'path';
import { writeFully, type StoreFs } from './fs-layer';
import type { Line } from './lines';

export interface Rejected {
  file: string;
  offset: number;
  line: number;
  reason: string;
  bytes: Buffer;
}

const SHOWN = 5;

export class Rejects {
  readonly items: Rejected[] = [];

  /** Keeps `line.buf[start, end)`, a part of `line` (or all of it). */
  add(file: string, line: Line, start: number, end: number, reason: string): void {
    // A copy: the chunk it came from is not kept alive for one record.
    const bytes = Buffer.from(line.buf.subarray(start, end));
    this.items.push({ file, offset: line.offset + (start - line.start), line: line.number, reason, bytes });
  }

  /** Keeps an entry of a single-JSON (format 1) snapshot, which has no lines to point at. */
  addValue(file: string, value: unknown, reason: string): void {
    this.items.push({ file, offset: -1, line: 0, reason, bytes: Buffer.from(JSON.stringify(value) ?? 'null') });
  }

  get size(): number {
    return this.items.length;
  }

  /** One line per file: how many records were skipped and where. */
  summary(keptIn: string | undefined): string[] {
    const byFile = new Map<string, Rejected[]>();
    for (const item of this.items) byFile.set(item.file, [...(byFile.get(item.file) ?? []), item]);
    return [...byFile].map(([file, items]) => {
      const where = items
        .slice(0, SHOWN)
        .map((r) => `${r.offset < 0 ? 'an entry' : `line ${r.line} at byte ${r.offset}`} (${r.bytes.length} bytes): ${r.reason}`)
        .join('; ');
      const more = items.length > SHOWN ? `; and ${items.length - SHOWN} more` : '';
      const kept = keptIn ? `kept in ${path.basename(keptIn)}` : 'could not be kept aside (they stay in place and are skipped again next time)';
      return `${file}: skipped ${items.length} unreadable record${items.length === 1 ? '' : 's'}: ${where}${more}; ${kept}`;
    });
  }
}

function asText(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  return !text.includes('\ufffd') && !text.includes('\0') ? text : undefined;
}

/** Appends the rejected records to a new quarantine file and fsyncs it; returns its path. */
export async function quarantine(fs: StoreFs, dir: string, items: Rejected[], now = new Date()): Promise<string> {
  const file = path.join(dir, `rejected-${now.toISOString().replace(/[:.]/g, '-')}.jsonl`);
  const lines = items.map((r) =>
    JSON.stringify({ file: r.file, offset: r.offset, line: r.line, reason: r.reason, text: asText(r.bytes), base64: r.bytes.toString('base64') }),
  );
  const handle = await fs.openWrite(file, false);
  try {
    const size = (await handle.stat()).size;
    await writeFully(handle, Buffer.from(`${lines.join('\n')}\n`), size);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.syncDir(dir);
  return file;
}
