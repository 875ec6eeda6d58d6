import { createHash } from 'node:crypto';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Database } from '../db/database';
import { inlineParameters, literal } from '../db/sql-literal';
import { filterCondition, type AuditFilter } from '../graphql/audit/audit-filter';
import type { EventOrder } from '../graphql/audit/audit-scope';
import { encodeAuditEventId, microsToIso } from '../graphql/audit/audit-event';

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

type ExportColumn = (typeof EXPORT_COLUMNS)[number];

/** Rows read per statement: memory stays flat whatever the export's size (two pages at most: one is read ahead). */
const PAGE = 5_000;

/** The columns PostgreSQL prints; the id and the time lead every line and are written by Node (cheaper there). */
type SqlColumn = Exclude<ExportColumn, 'id' | 'time'>;

/**
 * How PostgreSQL computes each column after the id and the time, and what kind of value it is. PostgreSQL builds
 * the rest of every line, so Node only prefixes the id and time, hashes and writes: formatting 18 cells per event in
 * JavaScript ran the export at 0.3 of `psql \copy` (docs/performance.md#export).
 */
const COLUMN_SQL: Record<SqlColumn, { expr: string; kind: 'text' | 'bool' | 'array' }> = {
  serviceId: { expr: 'e.service_id', kind: 'text' },
  clientId: { expr: 'e.client_id', kind: 'text' },
  tenantId: { expr: 'e.tenant_id', kind: 'text' },
  action: { expr: 'e.action', kind: 'text' },
  status: { expr: 'e.status', kind: 'text' },
  succeeded: { expr: `e.status = 'LUNA_RET_OK'`, kind: 'bool' },
  source: { expr: 'e.source', kind: 'text' },
  partitionId: { expr: 'e.partition_id', kind: 'text' },
  traceId: { expr: 'e.trace_id', kind: 'text' },
  clientIp: { expr: 'host(e.client_ip)', kind: 'text' },
  hsmId: { expr: 'e.hsm_id', kind: 'text' },
  objectIds: { expr: 'e.object_ids', kind: 'array' },
  partitionSerial: { expr: 'e.partition_serial', kind: 'text' },
  role: { expr: 'e.role', kind: 'text' },
  metaMalformed: { expr: 'e.meta_malformed', kind: 'bool' },
  metaRaw: { expr: 'coalesce(e.meta_raw, e.meta::text)', kind: 'text' },
};

const SQL_COLUMNS = EXPORT_COLUMNS.filter((c): c is SqlColumn => c !== 'id' && c !== 'time');

/** The CSV cells after the id and the time that PostgreSQL joins with commas: every one but the meta. */
const JOINED = SQL_COLUMNS.filter((c) => c !== 'metaRaw');

/** A joined cell as PostgreSQL computes it: never null (concat_ws would skip it), booleans as `true`/`false`. */
function joinedCellSql(column: SqlColumn): string {
  const { expr, kind } = COLUMN_SQL[column];
  if (kind === 'bool') return `(case when ${expr} then 'true' when not ${expr} then 'false' else '' end)`;
  if (kind === 'array') return `array_to_string(${expr}, ' ')`;
  return `coalesce(${expr}, '')`;
}

/**
 * The meta's CSV cell in SQL, as {@link csvCell} writes it: nearly every meta holds quotes and commas, so quoting it
 * here (one `replace`) costs PostgreSQL less than handing Node a string to scan and copy again.
 */
function metaCellSql(m: string): string {
  const guarded = `(case when left(${m}, 1) in ('=', '+', '-', '@', E'\\t', E'\\r') then '''' || ${m} else ${m} end)`;
  const quoted = `(strpos(${m}, '"') > 0 or strpos(${m}, ',') > 0 or strpos(${m}, E'\\n') > 0 or strpos(${m}, E'\\r') > 0)`;
  return `coalesce(case when ${quoted} then '"' || replace(${guarded}, '"', '""') || '"' else ${guarded} end, '')`;
}

/** The NDJSON object's members after the id and the time, under their export names (`objectIds` never null). */
const NDJSON_MEMBERS = SQL_COLUMNS.map((c) => {
  const { expr, kind } = COLUMN_SQL[c];
  return `${kind === 'array' ? `coalesce(${expr}, '{}'::text[])` : expr} as "${c}"`;
}).join(', ');

/**
 * What PostgreSQL computes for an event's line after its id and time. CSV: the other cells as they are, joined by
 * commas, and the meta's cell apart; Node writes the joined cells as they are when they need no quoting and no
 * formula guard (checked on the whole text at once), which is nearly always. Per-cell checks in SQL cost
 * PostgreSQL ~0.4 µs a cell, and 16 columns parsed by `pg` and escaped one by one cost Node ~10 µs an event
 * (docs/performance.md#export). NDJSON: the JSON object of the other members (Node replaces its `{` with the id and
 * time).
 */
const REST_SQL: Record<ExportFormat, { rest: string; from: string }> = {
  csv: {
    rest: `concat_ws(',', ${JOINED.map(joinedCellSql).join(', ')}) as rest, ${metaCellSql('m.text')} as meta`,
    // The meta's text once per event (`offset 0` keeps the planner from copying the expression into each use).
    from: `audit_events e cross join lateral (select ${COLUMN_SQL.metaRaw.expr} as text offset 0) m`,
  },
  // row_to_json prints compactly, in the select list's order; a lateral keeps the names out of the outer query.
  ndjson: {
    rest: `row_to_json(x)::text as rest, null as meta`,
    from: `audit_events e cross join lateral (select ${NDJSON_MEMBERS}) x`,
  },
};

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

/** How many events of one (service, hour) an export wrote: the manifest ties each to that period's seal. */
export interface ExportedPeriod {
  serviceId: string;
  periodStart: Date;
  events: number;
}

/** What an export wrote: its events, the SHA-256 of its bytes (header included, hex), and its periods. */
export interface ExportSummary {
  events: number;
  sha256: string;
  periods: ExportedPeriod[];
}

/** What an export's caller hears: the events written so far after each chunk, and the summary at the end. */
export interface ExportHooks {
  progress?: (events: number) => void;
  done?: (summary: ExportSummary) => void;
}

/** Opens a connection for one page's statement (the replica's when reads go there); it is released after the page. */
export type ExportConnect = () => Promise<pg.PoolClient>;

/**
 * Streams the events of `filter` (already confined to the caller's services) in `order`, as chunks of whole lines
 * (UTF-8): the CSV header first, then a page of lines per chunk. Each page is one `COPY (select ...) TO STDOUT` in
 * binary format, keyset-paged on (time, id) through the same indexes as the GraphQL connections, read whole and its
 * connection released before the consumer gets it; the next page is read while the consumer writes this one, and no
 * further. So memory is two pages whatever the size, and each statement stays under STATEMENT_TIMEOUT_MS however
 * slow the reader. Times are RFC 3339 in UTC with the stored microseconds.
 */
export async function* exportChunks(
  connect: ExportConnect,
  filter: AuditFilter,
  format: ExportFormat,
  order: EventOrder,
  hooks: ExportHooks = {},
): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  const periods = new PeriodCounter();
  let events = 0;
  if (format === 'csv') {
    const header = Buffer.from(CSV_HEADER);
    hash.update(header);
    yield header;
  }
  const statement = pageStatement(filter, format, order);
  const readAhead = (text: string): Promise<CopyPage> => {
    const page = readPage(connect, text);
    // A consumer that stops early leaves the page read ahead unawaited: its failure must not go unhandled.
    page.catch(() => undefined);
    return page;
  };
  let next: Promise<CopyPage> | null = readAhead(statement(null));
  try {
    while (next) {
      const page: CopyPage = await next;
      // The next page's COPY starts now, on another connection, while this one's risky rows are read again.
      next = page.rows === PAGE ? readAhead(statement(page.last)) : null;
      await finishPage(format, page);
      if (page.rows === 0) break;
      const chunk = writePage(format, page, periods);
      hash.update(chunk);
      events += page.rows;
      hooks.progress?.(events);
      yield chunk;
    }
  } finally {
    // A consumer that stopped early (a client gone): the page read ahead gives its connection back.
    void next?.then(
      (page) => page.close(),
      () => undefined,
    );
  }
  hooks.done?.({ events, sha256: hash.digest('hex'), periods: periods.list });
}

/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01), where binary COPY counts timestamptz from. */
const PG_EPOCH_US = 946_684_800_000_000;

/** Where an event is in keyset order: its id and its time in microseconds since the Unix epoch. */
interface Position {
  id: number;
  timeUs: number;
}

/** The `COPY` of one page after `after`: a function of the last row of the page before (null: the first page). */
function pageStatement(filter: AuditFilter, format: ExportFormat, order: EventOrder) {
  const compiled = sql`${filterCondition(filter, 'e')}`.compile(compiler);
  // COPY takes no parameters: the filter's values are inlined as escaped literals (sql-literal.ts).
  const where = inlineParameters(compiled.sql, compiled.parameters);
  const dir = order === 'TIME_ASC' ? 'asc' : 'desc';
  const op = order === 'TIME_ASC' ? '>' : '<';
  const { rest, from } = REST_SQL[format];
  return (after: Position | null) => {
    const past = after
      ? `(e.time, e.id) ${op} (${literal(microsToIso(String(after.timeUs)))}::timestamptz, ${literal(after.id)}::bigint)`
      : 'true';
    return `copy (select e.id, e.time, e.service_id, ${rest}
        from ${from}
       where ${where} and ${past}
       order by e.time ${dir}, e.id ${dir}
       limit ${PAGE}) to stdout (format binary)`;
  };
}

/** Compiles the filter's SQL only (no connection): PostgreSQL's dialect of Kysely. */
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/**
 * One page as binary COPY sent it, with where each row's fields are: per row, the offsets of its id (int8), time
 * (int8 µs since 2000), service id, joined cells (or JSON members) and meta cell (`-1` length: null) in `data`.
 */
interface CopyPage {
  data: Buffer;
  rows: number;
  /** Per row, 10 numbers: start and end of each of the 5 fields (a null field: start = end = -1). */
  fields: Int32Array;
  last: Position;
  /** CSV: the lines of the rows whose cells were read one by one, by row. */
  apart: Map<number, string>;
  /** The connection the page was read on, held until {@link finishPage}. */
  client: pg.PoolClient | null;
  /** Gives the connection back (once); `broken`: drop it rather than reuse it. */
  close: (broken?: Error | boolean) => void;
}

const FIELDS = 5;
/** Binary COPY's signature, flags and header-extension length: 11 + 4 + 4 bytes. */
const HEADER_BYTES = 19;

/**
 * Runs one page's COPY and splits its rows into fields, keeping its connection until {@link finishPage}: the CSV rows
 * whose cells need quoting or a formula guard are read again on it, so on the same server (a replica's or the
 * primary's). Not in one snapshot (a transaction per page measured 15% slower): a row deleted in between fails the
 * export with an error, never a short line.
 */
async function readPage(connect: ExportConnect, text: string): Promise<CopyPage> {
  const client = await connect();
  try {
    const page = splitRows(await copyOut(client, text));
    let open = true;
    page.client = client;
    page.close = (broken) => {
      if (!open) return;
      open = false;
      client.release(broken);
    };
    return page;
  } catch (err) {
    client.release(err instanceof Error ? err : true);
    throw err;
  }
}

/** Reads a CSV page's risky rows cell by cell and gives its connection back. */
async function finishPage(format: ExportFormat, page: CopyPage): Promise<void> {
  try {
    if (format === 'csv') page.apart = await linesApart(page.client!, page);
    page.close();
  } catch (err) {
    page.close(err instanceof Error ? err : true);
    throw err;
  }
}

/** The bytes of one `COPY ... TO STDOUT`, read whole (so a slow reader of the export holds no statement open). */
async function copyOut(client: pg.PoolClient, text: string): Promise<Buffer> {
  const copy = copyTo(text);
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of client.query(copy) as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  } finally {
    // pg arms its query_timeout timer for the COPY and clears it in the query's callback, which pg-copy-streams'
    // COPY TO never calls: left armed, it would fire on the connection after it went back to the pool.
    (copy as { callback?: () => void }).callback?.();
  }
}

/** Splits binary COPY's rows into their fields' offsets (a hand-written parser: the export's hot path). */
function splitRows(data: Buffer): CopyPage {
  const fields = new Int32Array(PAGE * FIELDS * 2);
  let at = HEADER_BYTES + data.readInt32BE(15);
  let rows = 0;
  const last: Position = { id: 0, timeUs: 0 };
  for (;;) {
    const count = data.readInt16BE(at);
    at += 2;
    if (count === -1) break;
    if (count !== FIELDS) throw new Error(`COPY sent a row of ${count} fields, ${FIELDS} expected.`);
    for (let f = 0; f < FIELDS; f++) {
      const length = data.readInt32BE(at);
      at += 4;
      const k = (rows * FIELDS + f) * 2;
      fields[k] = length < 0 ? -1 : at;
      fields[k + 1] = length < 0 ? -1 : at + length;
      if (length > 0) at += length;
    }
    rows++;
  }
  if (rows > 0) {
    const k = (rows - 1) * FIELDS * 2;
    last.id = int8(data, fields[k]!);
    last.timeUs = int8(data, fields[k + 2]!) + PG_EPOCH_US;
  }
  return { data, rows, fields, last, apart: new Map(), client: null, close: () => undefined };
}

/** An int8 of binary COPY as a number (exact below 2^53: event ids and times are far below). */
function int8(data: Buffer, at: number): number {
  const high = data.readInt32BE(at);
  if (high > 0x1fffff || high < -0x200000) throw new Error('An event id or time beyond 2^53 cannot be exported.');
  return high * 4_294_967_296 + data.readUInt32BE(at + 4);
}

const COMMA = 0x2c;

/**
 * Whether a row's joined cells can be written as they are: no quote, CR or LF, no cell starting as a formula
 * (`=`, `+`, `-`, `@`, tab), and exactly one comma between each two cells (none inside a cell). Nearly every row.
 */
function plainCells(data: Buffer, start: number, end: number): boolean {
  let commas = 0;
  let cellStart = true;
  for (let i = start; i < end; i++) {
    const b = data[i]!;
    if (b === COMMA) {
      commas++;
      cellStart = true;
      continue;
    }
    if (b === 0x22 || b === 0x0a || b === 0x0d) return false;
    if (cellStart && (b === 0x3d || b === 0x2b || b === 0x2d || b === 0x40 || b === 0x09)) return false;
    cellStart = false;
  }
  return commas === JOINED.length - 1;
}

const HOUR_US = 3_600_000_000;
let secondOf = -1;
let secondText = '';

/**
 * An event's time as RFC 3339 UTC with its microseconds, from microseconds since the Unix epoch (1970 onwards). A
 * measured hot path (a Date per event cost 1.1 µs): the text up to the second is kept for the next event.
 */
function timeText(timeUs: number): string {
  const second = Math.floor(timeUs / 1_000_000);
  if (second !== secondOf) {
    secondOf = second;
    secondText = new Date(second * 1000).toISOString().slice(0, 20);
  }
  // 1,000,000 + the microseconds is 7 digits: its last 6 are the fraction, zero-padded.
  return `${secondText}${String(1_000_000 + timeUs - second * 1_000_000).slice(1)}Z`;
}

/** Counts the exported events per (service, hour); rows come in time order, so one hour's services at a time. */
class PeriodCounter {
  readonly list: ExportedPeriod[] = [];
  private hour = Number.NaN;
  private services = new Map<string, ExportedPeriod>();

  add(serviceId: string, timeUs: number): void {
    const hour = Math.floor(timeUs / HOUR_US);
    if (hour !== this.hour) {
      this.hour = hour;
      this.services = new Map();
    }
    const period = this.services.get(serviceId);
    if (period) period.events++;
    else {
      const added = { serviceId, periodStart: new Date(hour * 3_600_000), events: 1 };
      this.services.set(serviceId, added);
      this.list.push(added);
    }
  }
}

/**
 * The lines of one page as bytes: each row's id and time written here, then the bytes PostgreSQL printed, copied as
 * they are. CSV rows whose joined cells need quoting or a formula guard are read again cell by cell ({@link csvCell}).
 */
function writePage(format: ExportFormat, page: CopyPage, periods: PeriodCounter): Buffer {
  const { data, rows, fields, apart } = page;
  // fields holds, per row, [start, end] of each of its 5 fields: id, time, service, cells (or members), meta.
  let size = 0;
  for (let r = 0, k = 0; r < rows; r++, k += FIELDS * 2)
    size += 128 + (fields[k + 7]! - fields[k + 6]!) + (fields[k + 9]! - fields[k + 8]!);
  for (const text of apart.values()) size += Buffer.byteLength(text);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let r = 0, k = 0; r < rows; r++, k += FIELDS * 2) {
    const timeUs = int8(data, fields[k + 2]!) + PG_EPOCH_US;
    periods.add(data.toString('utf8', fields[k + 4], fields[k + 5]), timeUs);
    const apartLine = apart.size > 0 ? apart.get(r) : undefined;
    if (apartLine !== undefined) {
      at += out.write(apartLine, at, 'utf8');
      continue;
    }
    const gid = encodeAuditEventId({ timeUs: String(timeUs), id: String(int8(data, fields[k]!)) });
    if (format === 'ndjson') {
      // PostgreSQL's object of the other members, without its opening brace, after the id and the time.
      at += out.write(`{"id":"${gid}","time":"${timeText(timeUs)}",`, at, 'latin1');
      at += data.copy(out, at, fields[k + 6]! + 1, fields[k + 7]);
      out[at++] = 0x0a;
      continue;
    }
    at += out.write(`${gid},${timeText(timeUs)},`, at, 'latin1');
    at += data.copy(out, at, fields[k + 6], fields[k + 7]);
    out[at++] = COMMA;
    if (fields[k + 8]! >= 0) at += data.copy(out, at, fields[k + 8], fields[k + 9]);
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  return out.subarray(0, at);
}

/**
 * The CSV lines of a page's rows whose joined cells cannot be written as they are, by row: their cells read one by
 * one on the page's connection (one statement for all of them), each through {@link csvCell}.
 */
async function linesApart(client: pg.PoolClient, page: CopyPage): Promise<Map<number, string>> {
  const rows: number[] = [];
  for (let r = 0, k = 0; r < page.rows; r++, k += FIELDS * 2)
    if (!plainCells(page.data, page.fields[k + 6]!, page.fields[k + 7]!)) rows.push(r);
  const lines = new Map<number, string>();
  if (rows.length === 0) return lines;
  const field = (r: number, f: number) => page.fields[(r * FIELDS + f) * 2]!;
  const positions = rows.map((r) => ({
    id: String(int8(page.data, field(r, 0))),
    timeUs: int8(page.data, field(r, 1)) + PG_EPOCH_US,
  }));
  const { rows: found } = await client.query<{ id: string; cells: string[] }>(
    `select e.id::text as id, array[${JOINED.map(joinedCellSql).join(', ')}] as cells
       from audit_events e
       join unnest($1::timestamptz[], $2::bigint[]) k(t, i) on e.time = k.t and e.id = k.i`,
    [positions.map((p) => microsToIso(String(p.timeUs))), positions.map((p) => p.id)],
  );
  const cells = new Map(found.map((f) => [f.id, f.cells]));
  rows.forEach((r, i) => {
    const { id, timeUs } = positions[i]!;
    const own = cells.get(id);
    if (!own) throw new Error(`Event ${id} was deleted while it was being exported: run the export again.`);
    const k = (r * FIELDS + 4) * 2;
    const meta = page.fields[k]! >= 0 ? page.data.toString('utf8', page.fields[k], page.fields[k + 1]) : '';
    lines.set(
      r,
      `${encodeAuditEventId({ timeUs: String(timeUs), id })},${timeText(timeUs)},${own.map(csvCell).join(',')},${meta}\r\n`,
    );
  });
  return lines;
}
