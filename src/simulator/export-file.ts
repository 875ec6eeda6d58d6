import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { generateRecords, renderRecordLine, type RawAuditRecord } from './record-generator';
import type { Tenant } from './tenant';
import { zipSingleEntry } from './zip-stream';

/** Export file formats: gzip of JSON Lines (what real clients read), ZIP holding a JSON array (what the docs say), plain JSON Lines. */
export const EXPORT_FORMATS = ['gzip-jsonl', 'zip-json', 'plain-jsonl'] as const;
/** One of {@link EXPORT_FORMATS}. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const CHUNK_CHARS = 64 * 1024;

/** FNV-1a of a line: picks, the same way in every export, the records followed by a bad line. */
function lineHash(line: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < line.length; i++) h = Math.imul(h ^ line.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The bad line that follows a record's line, or null (see `TenantOptions.badLineEvery`). */
function badLineAfter(tenant: Tenant, line: string): string | null {
  return tenant.badLineEvery > 0 && lineHash(line) % tenant.badLineEvery === 0 ? line.slice(0, -1) : null;
}

/** The bad lines a JSON Lines export of [from, to) holds, in order (a test's expectation). */
export function badLinesOf(tenant: Tenant, from: Date, to: Date): string[] {
  const out: string[] = [];
  for (const record of generateRecords(tenant, from, to)) {
    const bad = badLineAfter(tenant, renderRecordLine(record));
    if (bad !== null) out.push(bad);
  }
  return out;
}

function* jsonLinesText(
  tenant: Tenant,
  from: Date,
  to: Date,
  asArray: boolean,
  counter: { records: number },
  filter: ((record: RawAuditRecord) => boolean) | undefined,
): Generator<string> {
  let buf = asArray ? '[\n' : '';
  let first = true;
  for (const record of generateRecords(tenant, from, to)) {
    if (filter && !filter(record)) continue;
    const line = renderRecordLine(record);
    counter.records++;
    if (asArray) {
      buf += first ? line : `,\n${line}`;
      first = false;
    } else {
      buf += `${line}\n`;
      const bad = badLineAfter(tenant, line);
      if (bad !== null) buf += `${bad}\n`;
    }
    if (buf.length >= CHUNK_CHARS) {
      yield buf;
      buf = '';
    }
  }
  if (asArray) buf += '\n]\n';
  if (buf.length > 0) yield buf;
}

/** Options of {@link createExportStream}. */
export interface ExportStreamOptions {
  /** gzip/deflate level 1..9 (default 6). */
  level?: number;
  /** Receives the number of records once the stream has produced them all. */
  onRecords?: (records: number) => void;
  /** Keeps only the records it accepts (the export's query filters). */
  filter?: (record: RawAuditRecord) => boolean;
}

/** Streams the export file of [from, to) in a format (raw bytes, as the signed URL serves them). */
export function createExportStream(
  tenant: Tenant,
  from: Date,
  to: Date,
  format: ExportFormat,
  options: ExportStreamOptions = {},
): Readable {
  const counter = { records: 0 };
  const text = Readable.from(jsonLinesText(tenant, from, to, format === 'zip-json', counter, options.filter), {
    objectMode: false,
  });
  text.on('end', () => options.onRecords?.(counter.records));
  const bytes = text.pipe(
    new Transform({
      transform: (chunk: Buffer | string, _e, cb) =>
        cb(null, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'utf8')),
    }),
  );
  if (format === 'plain-jsonl') return bytes;
  if (format === 'zip-json') return zipSingleEntry('audit-logs.json', bytes, to);
  const gzip = zlib.createGzip({ level: options.level ?? 6 });
  bytes.on('error', (err) => gzip.destroy(err));
  return bytes.pipe(gzip);
}

/** Writes the export file of [from, to) to `path`, streaming; resolves with the record and byte counts. */
export async function writeExportFile(
  tenant: Tenant,
  from: Date,
  to: Date,
  path: string,
  format: ExportFormat = 'gzip-jsonl',
  options: { level?: number } = {},
): Promise<{ records: number; bytes: number }> {
  let records = 0;
  const out = createWriteStream(path);
  await pipeline(
    createExportStream(tenant, from, to, format, { level: options.level, onRecords: (n) => (records = n) }),
    out,
  );
  return { records, bytes: out.bytesWritten };
}
