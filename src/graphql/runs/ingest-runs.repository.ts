import { sql, type Kysely } from 'kysely';
import type { Database, IngestRunRow } from '../../db/database';
import { microsToIso, type EventPosition } from '../audit/audit-event';
import type { PageRequest } from '../pagination/page-request';

/** An ingest run as the GraphQL layer sees it. */
export interface IngestRun {
  id: string;
  kind: string;
  source: string;
  windowFrom: Date | null;
  windowTo: Date | null;
  exportJobId: string | null;
  state: string;
  recordsRead: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  malformedMeta: number;
  bytesRead: number;
  startedAt: Date;
  heartbeatAt: Date;
  finishedAt: Date | null;
  error: string | null;
  durationMs: number | null;
  /** Keyset position (started_at in microseconds, id). */
  position: EventPosition;
}

/** Maps an `ingest_runs` row (plus its exact start in microseconds) to an {@link IngestRun}. */
export function rowToIngestRun(row: IngestRunRow & { started_us: string }): IngestRun {
  return {
    id: row.id,
    kind: row.kind,
    source: row.source,
    windowFrom: row.window_from,
    windowTo: row.window_to,
    exportJobId: row.export_job_id,
    state: row.state,
    recordsRead: Number(row.records_read),
    inserted: Number(row.inserted),
    duplicates: Number(row.duplicates),
    rejected: Number(row.rejected),
    malformedMeta: Number(row.malformed_meta),
    bytesRead: Number(row.bytes_read),
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    finishedAt: row.finished_at,
    error: row.error,
    durationMs: row.finished_at ? row.finished_at.getTime() - row.started_at.getTime() : null,
    position: { timeUs: row.started_us, id: row.id },
  };
}

/** A page of ingest runs, newest first, keyset-paged on (started_at, id). */
export async function fetchIngestRuns(
  db: Kysely<Database>,
  request: PageRequest<EventPosition>,
): Promise<{ runs: IngestRun[]; hasNextPage: boolean; hasPreviousPage: boolean; totalCount: number }> {
  const backward = request.direction === 'backward';
  const dir = sql.raw(backward ? 'asc' : 'desc');
  const c = request.cursor;
  const cond = c
    ? sql`(started_at, id) ${sql.raw(backward ? '>' : '<')} (${microsToIso(c.timeUs)}::timestamptz, ${c.id}::bigint)`
    : sql`true`;
  const other = c
    ? sql`exists (select 1 from ingest_runs where (started_at, id) ${sql.raw(backward ? '<=' : '>=')} (${microsToIso(c.timeUs)}::timestamptz, ${c.id}::bigint))`
    : sql`false`;
  const result = await sql<IngestRunRow & { started_us: string; has_other: boolean; total: string }>`
    select r.*, (extract(epoch from r.started_at) * 1000000)::bigint::text as started_us,
           ${other} as has_other, (select count(*) from ingest_runs) as total
      from ingest_runs r
     where ${cond}
     order by r.started_at ${dir}, r.id ${dir}
     limit ${request.size + 1}`.execute(db);
  let totalCount = result.rows[0] ? Number(result.rows[0].total) : -1;
  const hasOther = result.rows[0]?.has_other ?? false;
  if (totalCount < 0) {
    const t = await sql<{
      total: string;
      has_other: boolean;
    }>`select count(*) as total, ${other} as has_other from ingest_runs`.execute(db);
    const [counted] = t.rows;
    if (!counted) throw new Error('count(*) over ingest_runs returned no row');
    totalCount = Number(counted.total);
    const more = counted.has_other;
    return { runs: [], hasNextPage: backward ? more : false, hasPreviousPage: backward ? false : more, totalCount };
  }
  const more = result.rows.length > request.size;
  const rows = result.rows.slice(0, request.size);
  if (backward) rows.reverse();
  return {
    runs: rows.map(rowToIngestRun),
    hasNextPage: backward ? hasOther : more,
    hasPreviousPage: backward ? more : hasOther,
    totalCount,
  };
}
