import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import yauzl from 'yauzl';

/** Container formats recognised by their magic bytes. */
export const INPUT_FORMATS = ['gzip', 'zip', 'plain'] as const;
/** One of {@link INPUT_FORMATS}. */
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** One stream of export text (a plain file, a gzip member chain, or one entry of a zip). */
export interface InputEntry {
  name: string;
  /** Decompressed bytes. */
  stream: Readable;
}

/** Counts raw input bytes as they are consumed (for progress). */
export interface ByteCounter {
  bytes: number;
  total: number | null;
}

/**
 * Tells the container format from the first bytes: `1f 8b` gzip, `PK\x03\x04` zip (or `PK\x05\x06`, the
 * whole of a zip without entries), else plain.
 */
export function sniffFormat(head: Buffer): InputFormat {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (
    head.length >= 4 &&
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    ((head[2] === 0x03 && head[3] === 0x04) || (head[2] === 0x05 && head[3] === 0x06))
  )
    return 'zip';
  return 'plain';
}

function counted(stream: Readable, counter: ByteCounter): Readable {
  stream.on('data', (chunk: Buffer) => {
    counter.bytes += chunk.length;
  });
  return stream;
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true }, (err, zip) => (err ? reject(err) : resolve(zip)));
  });
}

async function* zipEntries(path: string, counter: ByteCounter): AsyncGenerator<InputEntry> {
  const zip = await openZip(path);
  try {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
        const onEntry = (e: yauzl.Entry) => done(() => resolve(e));
        const onEnd = () => done(() => resolve(null));
        const onError = (err: Error) => done(() => reject(err));
        const done = (f: () => void) => {
          zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
          f();
        };
        zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
        zip.readEntry();
      });
      if (!entry) return;
      if (entry.fileName.endsWith('/')) continue;
      const stream = await new Promise<Readable>((resolve, reject) => {
        zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s)));
      });
      yield { name: entry.fileName, stream: counted(stream, counter) };
    }
  } finally {
    zip.close();
  }
}

/**
 * Opens an export file whatever its container (gzip, zip, plain), yielding its text streams one by one.
 * `counter.bytes` follows the bytes read from disk (uncompressed bytes for zip entries).
 */
export async function* openFileEntries(path: string, counter: ByteCounter): AsyncGenerator<InputEntry> {
  const fh = await open(path, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const format = sniffFormat(head);
  if (format === 'zip') {
    yield* zipWithTotal(path, counter);
    return;
  }
  counter.total = (await stat(path)).size;
  const raw = counted(createReadStream(path, { highWaterMark: 64 * 1024 }), counter);
  if (format === 'plain') {
    yield { name: path, stream: raw };
    return;
  }
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  raw.on('error', (err) => gunzip.destroy(err));
  yield { name: path, stream: raw.pipe(gunzip) };
}

async function* zipWithTotal(path: string, counter: ByteCounter): AsyncGenerator<InputEntry> {
  // Progress over a zip follows uncompressed bytes against the entries' declared sizes.
  const zip = await openZip(path);
  let total = 0;
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (e: yauzl.Entry) => {
      total += e.uncompressedSize;
      zip.readEntry();
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  counter.total = total;
  yield* zipEntries(path, counter);
}

/** Reads until at least `n` bytes are buffered, then puts them back; returns them. */
async function peek(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  for (;;) {
    const chunk = stream.read() as Buffer | null;
    if (chunk) {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= n) break;
      continue;
    }
    if (stream.readableEnded) break;
    const ended = await new Promise<boolean>((resolve, reject) => {
      const cleanup = () => {
        stream.off('readable', onReadable).off('end', onEnd).off('error', onError);
      };
      const onReadable = () => (cleanup(), resolve(false));
      const onEnd = () => (cleanup(), resolve(true));
      const onError = (err: Error) => (cleanup(), reject(err));
      stream.on('readable', onReadable).on('end', onEnd).on('error', onError);
    });
    if (ended) break;
  }
  const head = Buffer.concat(chunks);
  if (head.length > 0) stream.unshift(head);
  return head;
}

/**
 * Opens a downloaded export (raw bytes of any container) as text streams. A zip is spooled to a
 * temporary file first (its directory sits at the end); gzip and plain stream straight through.
 */
export async function* openStreamEntries(
  stream: Readable,
  name: string,
  counter: ByteCounter,
): AsyncGenerator<InputEntry> {
  const head = await peek(stream, 4);
  const format = sniffFormat(head);
  if (format === 'zip') {
    const dir = await mkdtemp(join(tmpdir(), 'dpod-export-'));
    try {
      const path = join(dir, 'export.zip');
      await pipeline(stream, createWriteStream(path));
      counter.bytes = 0;
      yield* zipWithTotal(path, counter);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const through = counted(stream.pipe(new PassThrough({ highWaterMark: 64 * 1024 })), counter);
  stream.on('error', (err) => through.destroy(err));
  if (format === 'plain') {
    yield { name, stream: through };
    return;
  }
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  through.on('error', (err) => gunzip.destroy(err));
  yield { name, stream: through.pipe(gunzip) };
}
