// Replays the journal: every line a framed record (or a bare JSON line of format 1), applied in order.
import { type LinesResult } from './lines';
import { applyOp, checkOp, stepUp, type StoreData } from './ops';
import { readRecords } from './records';
import type { Rejects } from './rejects';

export interface JournalRead extends LinesResult {
  /** Records applied. */
  records: number;
}

export async function replayJournal(
  chunks: AsyncIterable<Buffer>,
  data: StoreData,
  options: { file: string; rejects: Rejects; maxLineBytes?: number },
): Promise<JournalRead> {
  let records = 0;
  const result = await readRecords(
    chunks,
    (value, format) => {
      const op = checkOp(stepUp(value, format));
      if (typeof op === 'string') return op;
      applyOp(op, data);
      records++;
      return undefined;
    },
    options,
  );
  return { ...result, records };
}
