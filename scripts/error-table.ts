// `npm run docs:errors`: writes the error-code table of lib/errors.ts into the README between its markers, so
// the README lists exactly the codes a flow can switch on. test/lib/errors.test.ts fails when they differ.
import fs from 'fs';
import path from 'path';
import { ERROR_CODES } from '../lib/errors';

export const START = '<!-- error-codes:start (npm run docs:errors writes this table) -->';
export const END = '<!-- error-codes:end -->';

export function errorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning.replace(/\|/g, '\\|')} |`);
  return [START, '| code | meaning |', '|---|---|', ...rows, END].join('\n');
}

/** The README with its table section replaced by the current table. */
export function withErrorTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end === -1) throw new Error(`README has no ${START} … ${END} section`);
  return readme.slice(0, start) + errorTable() + readme.slice(end + END.length);
}

if (require.main === module) {
  const file = path.join(__dirname, '..', 'README.md');
  fs.writeFileSync(file, withErrorTable(fs.readFileSync(file, 'utf8')));
  console.log(`README: ${Object.keys(ERROR_CODES).length} error codes`);
}
