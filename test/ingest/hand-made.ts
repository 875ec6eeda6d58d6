import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/** A well-formed DPoD audit record (hand-made), with fields overridden as given. */
export function record(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    time: '2026-11-20 14:52:47.120 UTC',
    source: 'thales/cloudhsm/1334049524932',
    resourceID: 'f59a597b-19b9-41df-b479-1530ed60fca3',
    actorID: 'd5fa3ace-a79f-40ba-8e21-3ebf0bf0250a',
    tenantID: 'b863768a-9b90-4a6a-b8ec-01a7b46a6ca3',
    action: 'LUNA_SIGN',
    status: 'LUNA_RET_OK',
    traceID: '_PQejsfbmmiohSUzOMs5hvJehlrkVxdSopjdrZSx30A',
    meta: JSON.stringify({
      clientip: '10.0.0.1',
      hsmid: '567782',
      ouids: '2d00000012ab',
      partid: '1334049524932',
      role: 'CO',
    }),
    ...overrides,
  };
}

/** Writes text to `path`, gzip-compressed when asked. */
export function writeText(path: string, text: string, gzip = false): string {
  writeFileSync(path, gzip ? gzipSync(Buffer.from(text)) : text);
  return path;
}

/** JSON Lines text of records. */
export function jsonLines(records: unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** A stored zip (method 0) holding one entry: enough for tests (see {@link zipOfEntries}). */
export function zipOf(name: string, content: Buffer): Buffer {
  return zipOfEntries([{ name, content }]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/** One entry of {@link zipOfEntries}: a file (content) or a directory (name ending in "/", no content). */
export interface ZipEntry {
  name: string;
  content?: Buffer;
}

/** A stored zip (method 0) holding the entries in order, built by hand from the format's spec. */
export function zipOfEntries(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const content = entry.content ?? Buffer.alloc(0);
    const crc = crc32(content);
    const nameBuf = Buffer.from(entry.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(content.length, 18);
    local.writeUInt32LE(content.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(content.length, 20);
    central.writeUInt32LE(content.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(entry.name.endsWith('/') ? 0x10 : 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, content);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + content.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}
