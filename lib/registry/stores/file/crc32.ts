// CRC-32 (IEEE 802.3, the one zlib and gzip use) for the store's record checksums. Node 20.15+ has a native
// zlib.crc32; older Node 18/20 releases do not, so a table version with identical results backs it up.
import zlib from 'zlib';

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** The table implementation; exported so a test can check it against the native one. */
export function crc32Table(data: Uint8Array, seed = 0): number {
  let c = ~seed;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

type NativeCrc32 = (data: Uint8Array | string, value?: number) => number;
const native = (zlib as unknown as { crc32?: NativeCrc32 }).crc32;

/** CRC-32 of bytes, continuing from `seed` (the CRC of what came before). */
export const crc32: (data: Uint8Array, seed?: number) => number = native ? (data, seed = 0) => native(data, seed) : crc32Table;

/** CRC-32 of a string's UTF-8 bytes. */
export const crc32Utf8: (text: string) => number = native ? (text) => native(text, 0) : (text) => crc32Table(Buffer.from(text, 'utf8'));

export function hex8(crc: number): string {
  return crc.toString(16).padStart(8, '0');
}
