import { sql, type Kysely } from 'kysely';
import type { Database, IngestRunRow } from '../../db/database';
import { microsToIso, type EventPosition } from '../audit/audit-event';
import { rowToIngestRun, type IngestRunRecord } from '../../ingest/ingest-run';
import type { PageRequest } from '../pagination/page-request';

/** An ingest run as the GraphQL layer sees it. */
export interface IngestRun extends IngestRunRecord {
  durationMs: number | null;
  /** Keyset position (started_at in microseconds, id). */
  position: EventPosition;
}

function toGraphqlRun(row: IngestRunRow & { started_us: string }): IngestRun {
  const run = rowToIngestRun(row);
  return {
    ...run,
    durationMs: run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
    position: { timeUs: row.started_us, id: run.id },
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
    runs: rows.map(toGraphqlRun),
    hasNextPage: backward ? hasOther : more,
    hasPreviousPage: backward ? more : hasOther,
    totalCount,
  };
}
