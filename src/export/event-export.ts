import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/database';
import { filterCondition, type AuditFilter } from '../graphql/audit/audit-filter';
import { EVENT_COLUMNS } from '../graphql/audit/audit-page.repository';
import type { EventOrder } from '../graphql/audit/audit-scope';
import { encodeAuditEventId, microsToIso, type AuditEventSqlRow } from '../graphql/audit/audit-event';

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The columns of an export, in order (docs/export.md): the CSV header, and the NDJSON keys. */
export const EXPORT_COLUMNS = [
  'id',
  'time',
  'serviceId',
  'clientId',
  'tenantId',
  'action',
  'status',
  'succeeded',
  'source',
  'partitionId',
  'traceId',
  'clientIp',
  'hsmId',
  'objectIds',
  'partitionSerial',
  'role',
  'metaMalformed',
  'metaRaw',
] as const;

/** Rows read per statement: memory stays flat whatever the export's size. */
const PAGE = 5_000;

/** An event's row as the GraphQL pages select it, plus its time as RFC 3339 text. */
interface ExportRow extends AuditEventSqlRow {
  time_text: string;
}

/** One exported event, as its NDJSON object holds it (CSV writes the same values in {@link EXPORT_COLUMNS} order). */
type ExportRecord = Record<(typeof EXPORT_COLUMNS)[number], string | boolean | string[] | null>;

function toRecord(r: ExportRow): ExportRecord {
  return {
    id: encodeAuditEventId({ timeUs: r.time_us, id: r.id }),
    time: r.time_text,
    serviceId: r.service_id,
    clientId: r.client_id,
    tenantId: r.tenant_id,
    action: r.action,
    status: r.status,
    succeeded: r.status === 'LUNA_RET_OK',
    source: r.source,
    partitionId: r.partition_id,
    traceId: r.trace_id,
    clientIp: r.client_ip,
    hsmId: r.hsm_id,
    objectIds: r.object_ids ?? [],
    partitionSerial: r.partition_serial,
    role: r.role,
    metaMalformed: r.meta_malformed,
    metaRaw: r.meta_raw,
  };
}

/**
 * One CSV cell (RFC 4180: quoted when it holds a comma, a quote, CR or LF, quotes doubled). A text a spreadsheet
 * would run as a formula (leading `=`, `+`, `-`, `@`, tab or CR: OWASP's CSV-injection advice) gets a leading `'`.
 */
export function csvCell(value: string | boolean | string[] | null): string {
  if (value === null) return '';
  let text = typeof value === 'boolean' ? String(value) : Array.isArray(value) ? value.join(' ') : value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV header line (CRLF-terminated, as every CSV line). */
export const CSV_HEADER = `${EXPORT_COLUMNS.join(',')}\r\n`;

function line(format: ExportFormat, r: ExportRecord): string {
  if (format === 'ndjson') return `${JSON.stringify(r)}\n`;
  return `${EXPORT_COLUMNS.map((c) => csvCell(r[c])).join(',')}\r\n`;
}

/** What an export wrote: its events, and the SHA-256 of its bytes (header included), hex. */
export interface ExportSummary {
  events: number;
  sha256: string;
}

/**
 * Streams the events of `filter` (already confined to the caller's services) in `order`, as text chunks of whole
 * lines: the CSV header first, then a page of lines per chunk. Keyset pages on (time, id) through the same indexes as
 * the GraphQL connections, so a chunk is read only when the consumer asks for it (backpressure) and memory is one page.
 * Times are RFC 3339 in UTC with the stored microseconds. `done` hears the summary once the last line is out.
 */
export async function* exportChunks(
  db: Kysely<Database>,
  filter: AuditFilter,
  format: ExportFormat,
  order: EventOrder,
  done?: (summary: ExportSummary) => void,
): AsyncGenerator<string> {
  const hash = createHash('sha256');
  let events = 0;
  if (format === 'csv') {
    hash.update(CSV_HEADER);
    yield CSV_HEADER;
  }
  const dir = sql.raw(order === 'TIME_ASC' ? 'asc' : 'desc');
  const op = sql.raw(order === 'TIME_ASC' ? '>' : '<');
  let after: { timeUs: string; id: string } | null = null;
  for (;;) {
    const past: ReturnType<typeof sql> = after
      ? sql`(e.time, e.id) ${op} (${microsToIso(after.timeUs)}::timestamptz, ${after.id}::bigint)`
      : sql`true`;
    const { rows }: { rows: ExportRow[] } = await sql<ExportRow>`
      select ${EVENT_COLUMNS}, to_char(e.time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as time_text
        from audit_events e
       where ${filterCondition(filter, 'e')} and ${past}
       order by e.time ${dir}, e.id ${dir}
       limit ${PAGE}`.execute(db);
    if (rows.length === 0) break;
    let chunk = '';
    for (const r of rows) chunk += line(format, toRecord(r));
    hash.update(chunk);
    events += rows.length;
    yield chunk;
    if (rows.length < PAGE) break;
    const last: ExportRow = rows[rows.length - 1]!;
    after = { timeUs: last.time_us, id: last.id };
  }
  done?.({ events, sha256: hash.digest('hex') });
}
