import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { ERROR_CODES, M2MError, describeValue } from '../../lib/errors';
import { withErrorTable } from '../../scripts/error-table';

const root = path.join(__dirname, '..', '..');
const known = new Set(Object.keys(ERROR_CODES));

function filesUnder(dir: string, test: (name: string) => boolean): string[] {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Every quoted code-shaped string handed to M2MError, fail(…) or a CODES table in the pack's sources. */
function raisedCodes(): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [/new M2MError\(\s*'([A-Z][A-Z_]+)'/g, /\bfail\(\s*'([A-Z][A-Z_]+)'/g, /^\s+\w+: '([A-Z][A-Z_]+)',$/gm];
  for (const file of [...filesUnder('lib', (n) => n.endsWith('.ts')), ...filesUnder('nodes', (n) => n.endsWith('.ts'))]) {
    const text = fs.readFileSync(file, 'utf8');
    for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.set(m[1], path.relative(root, file));
  }
  return found;
}

describe('error codes', () => {
  it('every code the pack raises is in the one table of lib/errors.ts', () => {
    const unknown = [...raisedCodes()].filter(([code]) => !known.has(code)).map(([code, file]) => `${code} (${file})`);
    assert.deepStrictEqual(unknown, []);
  });

  it("every node's help names only codes of the table", () => {
    // help lives in nodes/<type>/locales/<lang>/<type>.html (markdown); any left in a node's .html is read too
    const help = filesUnder('nodes', (n) => n.endsWith('.html') || n.endsWith('.md'));
    assert.ok(
      help.some((file) => file.includes(`${path.sep}locales${path.sep}`)),
      'help is read from nodes/<type>/locales/',
    );
    const strays: string[] = [];
    for (const file of help) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/<code>([A-Z][A-Z]+_[A-Z_]+)<\/code>|`([A-Z][A-Z]+_[A-Z_]+)`/g)) {
        const code = m[1] ?? m[2];
        if (!known.has(code)) strays.push(`${code} (${path.relative(root, file)})`);
      }
    }
    assert.deepStrictEqual(strays, []);
  });

  it('the README lists the table as it is (npm run docs:errors writes it)', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    assert.strictEqual(withErrorTable(readme), readme);
  });

  it('an M2MError carries its code and field for msg.m2mError', () => {
    const err = new M2MError('INVALID_FIELD', 'msg.timeout must be a number', { field: 'timeout' });
    assert.deepStrictEqual([err.code, err.field, err.message], ['INVALID_FIELD', 'timeout', 'msg.timeout must be a number']);
  });

  it('describeValue renders anything a message carries without throwing, and short', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.strictEqual(describeValue(10n), '10n');
    assert.strictEqual(describeValue(cyclic), 'object');
    assert.strictEqual(describeValue(undefined), 'undefined');
    assert.strictEqual(describeValue('x'.repeat(10_000)).length, 60);
  });
});
