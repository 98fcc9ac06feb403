// Damage at every kind of place in the file store: each damaged record is lost alone (never a record silently
// changed), kept aside in rejected-*.jsonl, reported in one warning that says how many and where; everything
// else is there, the store opens, is rewritten without the damage, and takes writes.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { openRegistry, type DeviceRegistry } from '../../lib/registry';
import { frame } from '../../lib/registry/stores/file/frame';
import { rejectedRecords, tempDir } from './fixtures/file-store';

const DEVICES = 10;
const ids = Array.from({ length: DEVICES }, (_, i) => `dev-${i}`);

interface LineAt {
  offset: number;
  bytes: Buffer;
}

function linesOf(data: Buffer): LineAt[] {
  const lines: LineAt[] = [];
  for (let start = 0; start < data.length;) {
    const end = data.indexOf(0x0a, start);
    lines.push({ offset: start, bytes: data.subarray(start, end) });
    start = end + 1;
  }
  return lines;
}

const join = (...parts: Array<Buffer | string>): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
const nl = '\n';

async function openWith(dir: string, compactAfter?: number): Promise<{ registry: DeviceRegistry; warnings: string[] }> {
  const warnings: string[] = [];
  const registry = await openRegistry({ name: 'damage', store: { kind: 'file', dir, compactAfter }, warn: (m) => warnings.push(m) });
  return { registry, warnings };
}

interface Damage {
  name: string;
  damage(journal: Buffer, lines: LineAt[], dir: string): Buffer;
  lost: string[];
  /** What the one warning must say; none expected when undefined. */
  warning?: (lines: LineAt[]) => RegExp;
  /** Text the kept-aside record holds. */
  kept?: RegExp;
}

const flipBit = (bytes: Buffer, at: number): Buffer => {
  const copy = Buffer.from(bytes);
  copy[at] ^= 0x04;
  return copy;
};

const damages: Damage[] = [
  {
    name: 'the first record cut short',
    damage: (_j, lines) => join(lines[0].bytes.subarray(0, 60), nl, ...lines.slice(1).flatMap((l) => [l.bytes, nl])),
    lost: ['dev-0'],
    warning: () => /skipped 1 unreadable record: line 1 at byte 0 \(60 bytes\): checksum mismatch/,
  },
  {
    name: 'a record in the middle with one flipped bit',
    damage: (_j, lines) => join(...lines.flatMap((l, i) => [i === 4 ? flipBit(l.bytes, 40) : l.bytes, nl])),
    lost: ['dev-4'],
    warning: (lines) => new RegExp(`skipped 1 unreadable record: line 5 at byte ${lines[4].offset} .*checksum mismatch`),
  },
  {
    name: 'the last record with a damaged checksum',
    damage: (_j, lines) => join(...lines.flatMap((l, i) => [i === 9 ? join(l.bytes[0] === 0x30 ? '1' : '0', l.bytes.subarray(1)) : l.bytes, nl])),
    lost: ['dev-9'],
    warning: (lines) => new RegExp(`line 10 at byte ${lines[9].offset} .*checksum mismatch`),
  },
  {
    name: 'a torn last record',
    damage: (journal) => join(journal, frame(JSON.stringify({ o: 'p', d: { id: 'torn' } })).line.slice(0, 25)),
    lost: [],
    warning: (lines) => new RegExp(`line 11 at byte ${lines[9].offset + lines[9].bytes.length + 1} \\(25 bytes\\): a torn last record`),
  },
  {
    name: 'a changed value that is still valid JSON',
    damage: (_j, lines) => join(...lines.flatMap((l, i) => [i === 3 ? Buffer.from(l.bytes.toString().replace('"n":3', '"n":7')) : l.bytes, nl])),
    lost: ['dev-3'],
    warning: () => /line 4 at byte \d+ .*checksum mismatch/,
    kept: /"n":7/,
  },
  {
    name: 'records of the wrong shape (valid JSON, valid checksum)',
    damage: (_j, lines) =>
      join(
        ...lines.slice(0, 3).flatMap((l) => [l.bytes, nl]),
        frame('{"o":"p","d":{"id":"no-fields"}}').line,
        frame('{"o":"s","s":5}').line,
        frame('[1,2,3]').line,
        '{"o":"p","d":null}\n',
        ...lines.slice(3).flatMap((l) => [l.bytes, nl]),
      ),
    lost: [],
    warning: () =>
      /skipped 4 unreadable records: line 4 .*a device record of the wrong shape; line 5 .*last-seen times of the wrong shape; line 6 .*not an object; line 7 .*wrong shape/,
  },
  {
    name: 'non-JSON garbage between records',
    damage: (_j, lines) =>
      join(
        ...lines.slice(0, 6).flatMap((l) => [l.bytes, nl]),
        'not a record at all\n',
        Buffer.from([0xff, 0xfe, 0x01, 0x0a]),
        ...lines.slice(6).flatMap((l) => [l.bytes, nl]),
      ),
    lost: [],
    warning: () => /skipped 2 unreadable records: line 7 .*not a record \(no checksum\); line 8/,
  },
  {
    name: 'a run of NULs over a record and its newline',
    damage: (_j, lines) => join(...lines.flatMap((l, i) => (i === 5 ? [Buffer.alloc(l.bytes.length + 1)] : [l.bytes, nl]))),
    lost: ['dev-5'],
    warning: (lines) =>
      new RegExp(
        `line 6 at byte ${lines[5].offset} \\(${lines[5].bytes.length + 1} bytes\\): not a record \\(no checksum\\); the record after it on the same line was read`,
      ),
  },
  {
    name: 'a torn snapshot.tmp left by a compaction cut short',
    damage: (journal, lines, dir) => {
      fs.writeFileSync(path.join(dir, 'snapshot.json.tmp'), join(frame('{"m2m":"snapshot","createdAt":1}').line, lines[0].bytes.subarray(0, 50)));
      return journal;
    },
    lost: [],
  },
];

describe('file store with damage in the journal', () => {
  let dir: string;
  const open: DeviceRegistry[] = [];

  beforeEach(async () => {
    dir = tempDir('m2m-damage-');
    const { registry } = await openWith(dir);
    for (let n = 0; n < DEVICES; n++) await registry.register({ id: ids[n], attributes: { n } });
    await registry.close();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close().catch(() => undefined)));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of damages) {
    it(`${kind.name}: ${kind.lost.length ? `loses ${kind.lost.join(', ')} alone, says where, keeps it aside` : 'loses nothing'}, and opens`, async () => {
      const journalPath = path.join(dir, 'journal.log');
      const journal = fs.readFileSync(journalPath);
      const lines = linesOf(journal);
      fs.writeFileSync(journalPath, kind.damage(journal, lines, dir));

      const { registry, warnings } = await openWith(dir);
      open.push(registry);
      const expected = ids.filter((id) => !kind.lost.includes(id));
      assert.deepStrictEqual(
        registry
          .list()
          .devices.map((d) => d.id)
          .sort(),
        expected.sort(),
      );
      for (const id of expected) assert.strictEqual(registry.get(id)?.attributes.n, Number(id.slice(4)), `${id} is unchanged`);
      if (kind.warning) {
        assert.strictEqual(warnings.length, 1, `one warning: ${warnings.join(' | ')}`);
        assert.match(warnings[0], kind.warning(lines));
        assert.match(warnings[0], /kept in rejected-.*\.jsonl/);
        const kept = rejectedRecords(dir);
        assert.ok(kept.length > 0 && kept.every((r) => r.file === 'journal.log'));
        if (kind.kept) assert.match(kept.map((r) => r.text ?? '').join('\n'), kind.kept);
      } else {
        assert.deepStrictEqual(warnings, []);
      }
      await registry.register({ id: 'after-damage' });
      await registry.close();
      open.splice(0);

      const again = await openWith(dir);
      open.push(again.registry);
      assert.deepStrictEqual(again.warnings, [], 'the store was rewritten without the damage');
      assert.deepStrictEqual(
        again.registry
          .list()
          .devices.map((d) => d.id)
          .sort(),
        [...expected, 'after-damage'].sort(),
      );
    });
  }

  it('a snapshot cut short: opens with what it holds and the journal, and says it was cut', async () => {
    const { registry } = await openWith(dir, 10);
    const state = await registry.state('rule:n1');
    for (let i = 0; i < 10; i++) await state.set(`k${i}`, i); // folds the ten devices and the state into a snapshot
    await registry.register({ id: 'in-journal' }); // written after the fold
    await registry.close();
    const snapshotPath = path.join(dir, 'snapshot.json');
    const snapshot = fs.readFileSync(snapshotPath);
    const lines = linesOf(snapshot);
    const cutAt = lines[4].offset + 30; // inside dev-3's line (line 1 is the header)
    fs.writeFileSync(snapshotPath, snapshot.subarray(0, cutAt));

    const { registry: reopened, warnings } = await openWith(dir);
    open.push(reopened);
    assert.deepStrictEqual(
      reopened
        .list()
        .devices.map((d) => d.id)
        .sort(),
      ['dev-0', 'dev-1', 'dev-2', 'in-journal'],
    );
    assert.match(
      warnings.join('\n'),
      new RegExp(`snapshot.json: skipped 1 unreadable record: line 5 at byte ${lines[4].offset} \\(30 bytes\\): a last line cut short`),
    );
    assert.match(warnings.join('\n'), /snapshot.json: it ends without its trailer after 3 records/);
    await reopened.register({ id: 'after-damage' });
  });
});

describe('file store with damage in a journal of the first release (format 1)', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('m2m-damage-v1-');
    for (const f of ['snapshot.json', 'journal.log']) fs.copyFileSync(path.join(__dirname, 'fixtures', 'format1-store', f), path.join(dir, f));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const fixtureDevices = ['gate-3', 'late-1', 'press.7:a_b-c', 'sensor-1'];

  it('opens when a line is valid JSON of the wrong shape, instead of failing with a TypeError', async () => {
    fs.appendFileSync(path.join(dir, 'journal.log'), '{"o":"p","d":null}\n{"o":"s","s":5}\n{"o":"sp"}\n');
    const { registry, warnings } = await openWith(dir);
    try {
      assert.deepStrictEqual(
        registry
          .list()
          .devices.map((d) => d.id)
          .sort(),
        fixtureDevices,
      );
      assert.match(warnings.join('\n'), /journal.log: skipped 3 unreadable records: line 9 at byte 886/);
    } finally {
      await registry.close();
    }
  });

  it('reads the record glued behind a torn one (the first release did not cut torn writes off)', async () => {
    const glued = `{"o":"p","d":{"id":"torn","na{"o":"p","d":{"id":"glued","name":"glued","type":"","attributes":{},"tags":[],"createdAt":1,"updatedAt":1,"lastSeen":null}}\n`;
    fs.appendFileSync(path.join(dir, 'journal.log'), glued);
    const { registry, warnings } = await openWith(dir);
    try {
      assert.ok(registry.has('glued'), 'the acknowledged record behind the torn one is there');
      assert.match(warnings.join('\n'), /line 9 at byte 886 \(29 bytes\): not JSON; the record after it on the same line was read/);
    } finally {
      await registry.close();
    }
  });

  it('moves a snapshot that is not JSON aside (never deletes it) and opens with the journal', async () => {
    const snapshotPath = path.join(dir, 'snapshot.json');
    const damaged = fs.readFileSync(snapshotPath).subarray(0, 300);
    fs.writeFileSync(snapshotPath, damaged);
    const { registry, warnings } = await openWith(dir);
    try {
      assert.deepStrictEqual(
        registry
          .list()
          .devices.map((d) => d.id)
          .sort(),
        ['late-1', 'sensor-1'],
        'the devices the journal holds',
      );
      assert.match(warnings.join('\n'), /snapshot.json: it is not valid JSON .*moved to rejected-.*-snapshot\.json/);
      const aside = fs.readdirSync(dir).find((f) => /^rejected-.*-snapshot\.json$/.test(f));
      assert.ok(aside && fs.readFileSync(path.join(dir, aside)).equals(damaged), 'the unreadable snapshot is kept as it was');
    } finally {
      await registry.close();
    }
  });
});
