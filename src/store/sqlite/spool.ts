import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, unlinkSync, writevSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PaperboyError } from '../../errors.ts';
import { reason } from '../../fs-paths.ts';

/**
 * The bytes of queued messages as files in a folder beside the SQLite database
 * (`<database>-bodies/`), as an MTA keeps its queue files: kept in the database, each
 * ~100 KB went through the WAL, again through its checkpoint, then through the free list and
 * the incremental vacuum, all while holding the one write lock the delivery workers wait on.
 *
 * A page of messages queued together is one segment file (`<uuid>.spool`), their bytes one
 * after the other; each row keeps its segment's name, where its bytes start and how many
 * there are. Written, read and deleted, a file per message cost 0.25–0.65 ms a message against
 * 0.08–0.21 ms in segments of 100 (scripts/bench-spool.ts, 100 KB bodies; creating files is
 * what grows as the disk's write-back falls behind), and a batch is read with one open per segment.
 * A segment goes once no row names it (its last message sent or failed). Bodies queued before
 * segments (`<uuid>.eml`, one whole file each, no start in the row) are still read and deleted.
 *
 * A segment is written before the transaction that queues its messages: the write lock is
 * not held while it is made. If the transaction fails, or refuses every message, it is
 * deleted at once; only a crash between the two leaves a file no row names, which a prune
 * deletes once it is older than any transaction.
 */
export interface BodySpool {
  readonly folder: string;
  /** Writes the bytes of messages about to be queued as one segment; a failure names the file and the reason. */
  write(bodies: readonly Buffer[]): SpooledSegment;
  /** Each body's bytes if its file holds them whole, else the one-line reason it cannot be sent. */
  readMany(bodies: readonly SpooledBody[]): (Buffer | string)[];
  /** Deletes these files (one already gone is not an error). */
  remove(names: readonly string[]): void;
  /** Deletes the files not in `keep` (the queued messages') and older than `UNCLAIMED_FILE_GRACE_MS`; returns how many went. */
  prune(keep: Iterable<string>): number;
}

export interface SpooledSegment {
  file: string;
  /** Where each body starts in the file, in the order given. */
  offsets: number[];
}

/** Where a body is: its file, its start (null: the whole file, as before segments) and its length. */
export interface SpooledBody {
  file: string;
  offset: number | null;
  bytes: number;
}

/** Longer than any transaction runs: a younger file may belong to one not yet committed. */
export const UNCLAIMED_FILE_GRACE_MS = 60 * 60 * 1000;

export function spoolFolderOf(databasePath: string): string {
  return `${databasePath}-bodies`;
}

/** writev takes at most this many buffers a call (IOV_MAX on Linux). */
const MAX_BUFFERS_PER_WRITE = 1024;

export function openBodySpool(databasePath: string): BodySpool {
  const folder = spoolFolderOf(databasePath);
  const fileOf = (name: string) => join(folder, name);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw new PaperboyError('CONFIG_INVALID', `${folder}: cannot make the folder for queued messages (${reason((error as NodeJS.ErrnoException).code)})`, { cause: error });
  }
  const removeFile = (path: string) => {
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  };
  const unreadable = (path: string, error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    return `${path}: cannot read the queued message (${code === 'ENOENT' ? 'no such file' : reason(code)}); the folder moves with the database`;
  };
  // A crash of the machine can keep the row's commit and lose the end of the file.
  const cutShort = (path: string, found: number, bytes: number) => `${path}: the queued message is ${found} bytes, not the ${bytes} written (cut short by a crash?)`;
  const readWhole = (body: SpooledBody): Buffer | string => {
    const path = fileOf(body.file);
    let raw: Buffer;
    try {
      raw = readFileSync(path);
    } catch (error) {
      return unreadable(path, error);
    }
    return raw.length === body.bytes ? raw : cutShort(path, raw.length, body.bytes);
  };
  return {
    folder,
    write(bodies) {
      const file = `${randomUUID()}.spool`;
      const path = fileOf(file);
      const offsets: number[] = [];
      let end = 0;
      for (const body of bodies) {
        offsets.push(end);
        end += body.length;
      }
      let opened = false;
      let fd: number | null = null;
      try {
        fd = openSync(path, 'wx');
        opened = true;
        for (let from = 0; from < bodies.length; from += MAX_BUFFERS_PER_WRITE) writeAll(fd, bodies.slice(from, from + MAX_BUFFERS_PER_WRITE));
        const written = fd;
        fd = null;
        closeSync(written);
      } catch (error) {
        // Closed once, and a file this call made is never left half-written.
        if (fd !== null) closeSync(fd);
        if (opened) removeFile(path);
        throw new PaperboyError('CONFIG_INVALID', `${path}: cannot write queued messages (${reason((error as NodeJS.ErrnoException).code)})`, { cause: error });
      }
      return { file, offsets };
    },
    readMany(bodies) {
      const open = new Map<string, { fd: number; size: number } | string>();
      try {
        return bodies.map((body) => {
          if (body.offset === null) return readWhole(body);
          const path = fileOf(body.file);
          let segment = open.get(body.file);
          if (segment === undefined) {
            try {
              const fd = openSync(path, 'r');
              segment = { fd, size: fstatSync(fd).size };
            } catch (error) {
              segment = unreadable(path, error);
            }
            open.set(body.file, segment);
          }
          if (typeof segment === 'string') return segment;
          const found = Math.max(0, Math.min(body.bytes, segment.size - body.offset));
          if (found < body.bytes) return cutShort(path, found, body.bytes);
          const raw = Buffer.allocUnsafe(body.bytes);
          let read = 0;
          while (read < body.bytes) {
            const got = readSync(segment.fd, raw, read, body.bytes - read, body.offset + read);
            if (got === 0) return cutShort(path, read, body.bytes);
            read += got;
          }
          return raw;
        });
      } finally {
        for (const segment of open.values()) if (typeof segment !== 'string') closeSync(segment.fd);
      }
    },
    remove(names) {
      for (const name of names) removeFile(fileOf(name));
    },
    prune(keep) {
      // The file system's clock, not the run's: it is what stamped the files.
      const now = Date.now();
      const kept = new Set(keep);
      let pruned = 0;
      for (const name of readdirSync(folder)) {
        // Anything else in the folder is not ours to delete.
        if (!SPOOL_FILE.test(name) || kept.has(name)) continue;
        const path = fileOf(name);
        if (now - statSync(path).mtimeMs < UNCLAIMED_FILE_GRACE_MS) continue;
        removeFile(path);
        pruned++;
      }
      return pruned;
    },
  };
}

/** writev may write less than asked (a full disk, a signal): what is left is written again. */
function writeAll(fd: number, buffers: readonly Buffer[]): void {
  let pending = buffers.filter((buffer) => buffer.length > 0);
  while (pending.length > 0) {
    let written = writevSync(fd, pending);
    while (pending.length > 0 && written >= pending[0]!.length) written -= pending.shift()!.length;
    if (written > 0) pending[0] = pending[0]!.subarray(written);
  }
}

const SPOOL_FILE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(spool|eml)$/;
