// The file operations the store uses, as a small interface so that tests can inject short writes, ENOSPC and EIO.
import { constants, promises as fsp } from 'fs';
import { M2MError } from '../../../errors';

export interface StoreFileHandle {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export interface StoreFs {
  /** Opens for reading; resolves undefined when the file does not exist. */
  openRead(path: string): Promise<StoreFileHandle | undefined>;
  /** Opens for positioned reads and writes, creating the file if needed (never O_APPEND: writes go where we say). */
  openWrite(path: string, truncate: boolean): Promise<StoreFileHandle>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** fsyncs a directory so that a rename or a new file in it is durable. */
  syncDir(path: string): Promise<void>;
}

export const nodeFs: StoreFs = {
  async openRead(path) {
    try {
      return await fsp.open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  openWrite: (path, truncate) => fsp.open(path, constants.O_RDWR | constants.O_CREAT | (truncate ? constants.O_TRUNC : 0), 0o644),
  rename: (from, to) => fsp.rename(from, to),
  remove: (path) => fsp.rm(path, { force: true }),
  mkdir: async (path) => {
    await fsp.mkdir(path, { recursive: true });
  },
  async syncDir(path) {
    const handle = await fsp.open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** Writes all of `data` at `position`, looping over short writes; a write that makes no progress is an error. */
export async function writeFully(handle: StoreFileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (!(bytesWritten > 0)) {
      throw new M2MError('STORE_WRITE_FAILED', `the disk accepted 0 of ${data.length - done} bytes`);
    }
    done += bytesWritten;
  }
}

/** Reads a file in chunks of `chunkBytes`, each in a fresh buffer (a line may keep a reference to it). */
export async function* readChunks(handle: StoreFileHandle, chunkBytes: number, from = 0): AsyncGenerator<Buffer> {
  let position = from;
  for (;;) {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    const { bytesRead } = await handle.read(buffer, 0, chunkBytes, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}
