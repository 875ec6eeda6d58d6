import { pipeline, Transform, type Readable } from 'node:stream';
import zlib from 'node:zlib';

function dosDateTime(date: Date): { time: number; date: number } {
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | Math.floor(date.getUTCSeconds() / 2),
    date: ((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}

/**
 * Wraps a byte stream as a ZIP archive holding one deflated entry, streaming: sizes and CRC go in a data
 * descriptor after the data (general purpose flag bit 3), so nothing is buffered.
 */
export function zipSingleEntry(entryName: string, source: Readable, modified: Date = new Date()): Readable {
  const name = Buffer.from(entryName, 'utf8');
  const { time, date } = dosDateTime(modified);
  const flags = 0x0008 | 0x0800; // data descriptor follows; UTF-8 name
  let crc = 0;
  let size = 0;
  let compressed = 0;
  let headerSent = false;

  const localHeader = (): Buffer => {
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(flags, 6);
    h.writeUInt16LE(8, 8);
    h.writeUInt16LE(time, 10);
    h.writeUInt16LE(date, 12);
    h.writeUInt16LE(name.length, 26);
    return Buffer.concat([h, name]);
  };

  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      crc = zlib.crc32(chunk, crc);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const framer = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!headerSent) {
        headerSent = true;
        this.push(localHeader());
      }
      compressed += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      let offset = 0;
      if (!headerSent) {
        headerSent = true;
        this.push(localHeader());
      }
      offset = 30 + name.length + compressed;
      const descriptor = Buffer.alloc(16);
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc >>> 0, 4);
      descriptor.writeUInt32LE(compressed, 8);
      descriptor.writeUInt32LE(size, 12);
      const central = Buffer.alloc(46);
      central.writeUInt32LE(0x02014b50, 0);
      central.writeUInt16LE(20, 4);
      central.writeUInt16LE(20, 6);
      central.writeUInt16LE(flags, 8);
      central.writeUInt16LE(8, 10);
      central.writeUInt16LE(time, 12);
      central.writeUInt16LE(date, 14);
      central.writeUInt32LE(crc >>> 0, 16);
      central.writeUInt32LE(compressed, 20);
      central.writeUInt32LE(size, 24);
      central.writeUInt16LE(name.length, 28);
      central.writeUInt32LE(0, 42); // local header offset
      const centralStart = offset + descriptor.length;
      const end = Buffer.alloc(22);
      end.writeUInt32LE(0x06054b50, 0);
      end.writeUInt16LE(1, 8);
      end.writeUInt16LE(1, 10);
      end.writeUInt32LE(central.length + name.length, 12);
      end.writeUInt32LE(centralStart, 16);
      cb(null, Buffer.concat([descriptor, central, name, end]));
    },
  });
  pipeline(source, counter, zlib.createDeflateRaw(), framer, (err) => {
    if (err) framer.destroy(err);
  });
  return framer;
}
