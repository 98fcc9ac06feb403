// The file store's format: a store written by the first release opens and is stepped up, a newer format is
// refused untouched, and the snapshot is streamed, so a store larger than any string V8 can hold is written and
// read without ever being one string.
import assert from 'assert';
import { constants as bufferConstants } from 'buffer';
import fs from 'fs';
import path from 'path';
import { openRegistry } from '../../lib/registry';
import { FileStore } from '../../lib/registry/stores/file';
import { crc32, crc32Table, crc32Utf8, hex8 } from '../../lib/registry/stores/file/crc32';
import { FORMAT, frame } from '../../lib/registry/stores/file/frame';
import { forEachLine } from '../../lib/registry/stores/file/lines';
import type { StoreOp } from '../../lib/registry/stores/file/ops';
import { Rejects } from '../../lib/registry/stores/file/rejects';
import { readSnapshot, writeSnapshot } from '../../lib/registry/stores/file/snapshot';
import { rejectedRecords, tempDir } from './fixtures/file-store';

const FIXTURE = path.join(__dirname, 'fixtures', 'format1-store');
/** The token issued to gate-3 when the fixture was written. */
const FIXTURE_TOKEN = 'f5-cXJMvn1ZO0ObDbHAT39U6Y86_u6Bv';

function copyFixture(): string {
  const dir = tempDir('m2m-format-');
  for (const f of fs.readdirSync(FIXTURE)) fs.copyFileSync(path.join(FIXTURE, f), path.join(dir, f));
  return dir;
}

function filesOf(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'base64')]));
}

/** A line in the frame of a future format (the frame itself never changes). */
function futureLine(format: number, json: string): string {
  const body = `${format} ${json}`;
  return `${hex8(crc32Utf8(body))} ${body}\n`;
}

async function* chunksOf(...buffers: Buffer[]): AsyncGenerator<Buffer> {
  for (const b of buffers) yield b;
}

describe('file store format', () => {
  it('computes the standard CRC-32, natively and with the table fallback alike', () => {
    assert.strictEqual(crc32Table(Buffer.from('123456789')), 0xcbf43926);
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) & 0xff));
    assert.strictEqual(crc32(data), crc32Table(data));
    assert.strictEqual(crc32(data.subarray(100), crc32(data.subarray(0, 100))), crc32Table(data));
    assert.strictEqual(crc32Utf8('Grüße 温度 🌡'), crc32Table(Buffer.from('Grüße 温度 🌡')));
  });

  describe('a store written by the first release (format 1)', () => {
    let dir: string;
    beforeEach(() => (dir = copyFixture()));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('opens with every device, state entry, last-seen time and credential, and is stepped up to the current format', async () => {
      const warnings: string[] = [];
      const types = [{ name: 'sensor' }, { name: 'press' }];
      const registry = await openRegistry({ name: 'v1', store: { kind: 'file', dir, compactAfter: 2 }, types, warn: (m) => warnings.push(m) });
      try {
        assert.deepStrictEqual(warnings, []);
        assert.deepStrictEqual(
          registry
            .list()
            .devices.map((d) => d.id)
            .sort(),
          ['gate-3', 'late-1', 'press.7:a_b-c', 'sensor-1'],
        );
        const sensor = registry.get('sensor-1');
        assert.deepStrictEqual(sensor?.attributes, { limit: 35, room: 'cold', nested: { a: [1, 2] } });
        assert.deepStrictEqual(sensor?.tags, ['hall-1', 'updated']);
        assert.strictEqual(sensor?.lastSeen, 1795992026103);
        assert.strictEqual(registry.get('late-1')?.attributes.unicode, 'Grüße – 温度 🌡');
        assert.strictEqual(registry.get('late-1')?.lastSeen, 1795992026147);
        assert.strictEqual(await registry.verify('gate-3', FIXTURE_TOKEN), true, 'the credential issued by the first release still verifies');
        assert.deepStrictEqual((await registry.state('rule:n1')).get('sensor-1/overheat'), { active: true, raisedAt: 1700000000000, ack: false });
        assert.deepStrictEqual((await registry.state('rule:n1')).keys(), ['sensor-1/overheat']);
        assert.deepStrictEqual((await registry.state('cmd:n2')).get('c-1'), { id: 'c-1', deviceId: 'gate-3', status: 'queued' });
        await registry.register({ id: 'new-1', type: 'sensor' }); // folds everything into a current-format snapshot
      } finally {
        await registry.close();
      }
      const header = fs.readFileSync(path.join(dir, 'snapshot.json'), 'utf8').split('\n')[0];
      assert.match(header, new RegExp(`^[0-9a-f]{8} ${FORMAT} \\{"m2m":"snapshot"`));
      const reopened = await openRegistry({ name: 'v1', store: { kind: 'file', dir }, types });
      try {
        assert.strictEqual(reopened.counts().devices, 5);
        assert.strictEqual(reopened.get('sensor-1')?.lastSeen, 1795992026103);
        assert.strictEqual(await reopened.verify('gate-3', FIXTURE_TOKEN), true);
      } finally {
        await reopened.close();
      }
    });
  });

  describe('a store from a newer release', () => {
    let dir: string;
    beforeEach(() => (dir = tempDir('m2m-new-')));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const cases: Array<{ name: string; files: Record<string, string>; file: string; format: number }> = [
      {
        name: 'a snapshot header of format 3',
        files: { 'snapshot.json': futureLine(3, '{"m2m":"snapshot","createdAt":1}') + futureLine(3, '{"devices":"elsewhere"}') },
        file: 'snapshot.json',
        format: 3,
      },
      {
        name: 'a journal record of format 7 after records this release reads',
        files: { 'journal.log': `${frame('{"o":"d","i":"x"}').line}${futureLine(7, '{"op":"put","device":{}}')}${frame('{"o":"d","i":"y"}').line}` },
        file: 'journal.log',
        format: 7,
      },
      {
        name: 'a single-JSON snapshot of version 2',
        files: { 'snapshot.json': '{"version":2,"devices":[],"state":{}}' },
        file: 'snapshot.json',
        format: 2,
      },
    ];
    for (const c of cases) {
      it(`is refused with STORE_TOO_NEW and left untouched: ${c.name}`, async () => {
        for (const [f, text] of Object.entries(c.files)) fs.writeFileSync(path.join(dir, f), text);
        const before = filesOf(dir);
        await assert.rejects(openRegistry({ name: 'new', store: { kind: 'file', dir } }), (err: { code?: string; message: string }) => {
          assert.strictEqual(err.code, 'STORE_TOO_NEW');
          assert.ok(err.message.includes(path.join(dir, c.file)), err.message);
          assert.match(err.message, new RegExp(`store format ${c.format} by a newer release; this release reads`));
          return true;
        });
        assert.deepStrictEqual(filesOf(dir), before, 'nothing was changed, moved or kept aside');
      });
    }
  });

  describe('streamed snapshot', function () {
    this.timeout(120_000);

    describe('with a string limit injected into the writer and the reader (always run)', () => {
      // A fake V8 string limit of 16 KiB and a store 512 times larger: if either side ever held the store (or
      // any more than a chunk of it) as one string, it would throw RangeError: Invalid string length.
      const LIMIT = 16 * 1024;
      const RECORDS = 8 * 1024;
      const value = 'v'.repeat(1000);
      function* store(): Generator<StoreOp> {
        for (let i = 0; i < RECORDS; i++) yield { o: 'sp', n: 'ns', k: `k${i}`, v: value };
      }

      it('writes and reads back a store 512 times larger than the longest string either may build', async () => {
        const chunks: Buffer[] = [];
        const written = await writeSnapshot(
          store(),
          { write: async (chunk) => void chunks.push(Buffer.from(chunk)) },
          { chunkBytes: LIMIT, maxStringLength: LIMIT },
        );
        assert.strictEqual(written.count, RECORDS);
        assert.ok(written.bytes > 512 * LIMIT, `${written.bytes} bytes, ${(written.bytes / LIMIT).toFixed(0)} times the limit`);
        assert.ok(Math.max(...chunks.map((c) => c.length)) <= LIMIT, 'no chunk is larger than the chunk size');
        let read = 0;
        const result = await readSnapshot(chunksOf(...chunks), () => read++, {
          file: 'limited',
          rejects: new Rejects(),
          maxLineBytes: LIMIT,
          maxStringBytes: LIMIT,
        });
        assert.deepStrictEqual(result.problems, []);
        assert.strictEqual(read, RECORDS);
      });

      it("does enforce the injected limit (a single record longer than it fails, as past V8's limit)", async () => {
        const huge: StoreOp = { o: 'sp', n: 'ns', k: 'k', v: 'v'.repeat(LIMIT) };
        await assert.rejects(writeSnapshot([huge], { write: async () => undefined }, { maxStringLength: LIMIT }), RangeError);
        const chunks: Buffer[] = [];
        await writeSnapshot([huge], { write: async (chunk) => void chunks.push(Buffer.from(chunk)) });
        await assert.rejects(
          readSnapshot(chunksOf(...chunks), () => undefined, { file: 'limited', rejects: new Rejects(), maxStringBytes: LIMIT }),
          RangeError,
        );
      });
    });

    describe("past V8's real string limit (about 10 s of CPU)", function () {
      const MAX_STRING = bufferConstants.MAX_STRING_LENGTH;
      const MIB = 1024 * 1024;
      const big = 'x'.repeat(MIB);
      const RECORDS = Math.ceil(MAX_STRING / MIB) + 8;

      function* hugeStore(): Generator<StoreOp> {
        for (let i = 0; i < RECORDS; i++) yield { o: 'sp', n: 'big', k: `k${i}`, v: big };
      }

      it('writes a store larger than the longest string V8 can make, one bounded chunk at a time', async () => {
        let total = 0;
        let largest = 0;
        const written = await writeSnapshot(
          hugeStore(),
          {
            write: async (chunk) => {
              total += chunk.length;
              largest = Math.max(largest, chunk.length);
            },
          },
          { chunkBytes: 4 * MIB },
        );
        assert.strictEqual(written.count, RECORDS);
        assert.strictEqual(written.bytes, total);
        assert.ok(total > MAX_STRING, `${total} bytes written, more than a string can hold (${MAX_STRING})`);
        assert.ok(largest <= 4 * MIB, `no chunk is larger than the chunk size (${largest})`);
      });

      it('reads a store larger than the longest string V8 can make, holding one chunk and one line at a time', async () => {
        // The file's bytes are produced lazily: one 1 MiB record line repeated, between a header and a trailer.
        const line = frame(JSON.stringify({ o: 'sp', n: 'big', k: 'k', v: big }));
        const lineBytes = Buffer.from(line.line);
        const crcBytes = Buffer.alloc(4);
        crcBytes.writeUInt32BE(line.crc);
        let crcOfCrcs = 0;
        for (let i = 0; i < RECORDS; i++) crcOfCrcs = crc32(crcBytes, crcOfCrcs);
        async function* file(): AsyncGenerator<Buffer> {
          yield Buffer.from(frame('{"m2m":"snapshot","createdAt":1}').line);
          // Split each line across two chunks, as a file read in fixed chunks does.
          for (let i = 0; i < RECORDS; i++) {
            yield lineBytes.subarray(0, 1000);
            yield lineBytes.subarray(1000);
          }
          yield Buffer.from(frame(JSON.stringify({ end: true, count: RECORDS, crc: hex8(crcOfCrcs) })).line);
        }
        let records = 0;
        const read = await readSnapshot(file(), () => records++, { file: 'huge', rejects: new Rejects() });
        assert.deepStrictEqual(read.problems, []);
        assert.strictEqual(records, RECORDS);
        assert.ok(read.bytes > MAX_STRING, `${read.bytes} bytes read, more than a string can hold (${MAX_STRING})`);
      });
    });

    it('round-trips records through the writer and the reader whatever the chunk sizes', async () => {
      const ops: StoreOp[] = [
        { o: 'p', d: { id: 'd-1', name: 'Grüße 🌡', type: 't', attributes: { a: [1, { b: null }] }, tags: ['x'], createdAt: 1, updatedAt: 2, lastSeen: null } },
        ...Array.from({ length: 50 }, (_, i): StoreOp => ({ o: 'sp', n: `ns${i % 3}`, k: `key ${i}\n"quoted"`, v: { i, s: '温度'.repeat(i) } })),
      ];
      const parts: Buffer[] = [];
      await writeSnapshot(ops, { write: async (c) => void parts.push(c) }, { chunkBytes: 100 });
      const file = Buffer.concat(parts);
      for (const size of [1, 7, 4096]) {
        const pieces = Array.from({ length: Math.ceil(file.length / size) }, (_, i) => file.subarray(i * size, (i + 1) * size));
        const back: StoreOp[] = [];
        const read = await readSnapshot(chunksOf(...pieces), (op) => back.push(op), { file: 'rt', rejects: new Rejects() });
        assert.deepStrictEqual(read.problems, [], `chunks of ${size}`);
        assert.deepStrictEqual(back, ops, `chunks of ${size}`);
      }
    });

    it('keeps a line longer than the limit aside by its start only, and reads on', async () => {
      const lines: number[] = [];
      const seen: Array<{ length: number; oversize: boolean }> = [];
      const long = Buffer.alloc(5000, 0x61);
      const result = await forEachLine(
        chunksOf(Buffer.from('short\n'), long.subarray(0, 2500), long.subarray(2500), Buffer.from('\nnext\n')),
        (line) => {
          lines.push(line.number);
          seen.push({ length: line.end - line.start, oversize: line.oversize });
        },
        1000,
      );
      assert.deepStrictEqual(lines, [1, 2, 3]);
      assert.deepStrictEqual(seen, [
        { length: 5, oversize: false },
        { length: 1000, oversize: true },
        { length: 4, oversize: false },
      ]);
      assert.strictEqual(result.tail, undefined);
    });
  });

  it('reads a store through small read chunks the same as through large ones', async () => {
    const dir = copyFixture();
    try {
      const small = await openRegistry({ name: 'c', store: { kind: 'file', dir, compactAfter: 1 } });
      await small.register({ id: 'extra' }); // writes a current-format snapshot
      await small.close();
      for (const chunkBytes of [3, 1 << 20]) {
        const store = new FileStore({ dir, chunkBytes });
        const data = await store.load();
        await store.close();
        assert.deepStrictEqual(data.devices.map((d) => d.id).sort(), ['extra', 'gate-3', 'late-1', 'press.7:a_b-c', 'sensor-1'], `chunks of ${chunkBytes}`);
      }
      assert.deepStrictEqual(rejectedRecords(dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
