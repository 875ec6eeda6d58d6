import type { Readable } from 'node:stream';
import { ZipFile } from 'yazl';

/**
 * Wraps a byte stream as a ZIP archive holding one deflated entry, streaming (yazl writes sizes and CRC in a data
 * descriptor after the data, so nothing is buffered). A failing source fails the archive.
 */
export function zipSingleEntry(entryName: string, source: Readable, modified: Date = new Date()): Readable {
  const zip = new ZipFile();
  const archive = zip.outputStream as Readable; // a Node stream; its type says the DOM's ReadableStream
  source.on('error', (err) => {
    archive.destroy(err);
  });
  zip.addReadStream(source, entryName, { mtime: modified, compress: true });
  zip.end();
  return archive;
}
