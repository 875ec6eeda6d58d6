import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database';
import type { IngestSnapshot } from './metrics';

/** Reads the ingest figures for `/metrics` from `ingest_runs` and the follower's checkpoint (two small queries). */
export async function readIngestSnapshot(db: Kysely<Database>): Promise<IngestSnapshot> {
  const totals = await sql<{
    state: string;
    runs: string;
    read: string;
    inserted: string;
    duplicates: string;
    rejected: string;
  }>`
    select state, count(*) as runs, coalesce(sum(records_read), 0) as read, coalesce(sum(inserted), 0) as inserted,
           coalesce(sum(duplicates), 0) as duplicates, coalesce(sum(rejected), 0) as rejected
    from ingest_runs group by state`.execute(db);
  const lag = await sql<{ lag: number | null }>`
    select extract(epoch from now() - max(position))::float8 as lag from ingest_checkpoints where name = 'follow'`.execute(
    db,
  );
  const snapshot: IngestSnapshot = {
    lagSeconds: lag.rows[0]?.lag ?? null,
    recordsRead: 0,
    inserted: 0,
    duplicates: 0,
    rejected: 0,
    runsByState: {},
  };
  for (const row of totals.rows) {
    snapshot.runsByState[row.state] = Number(row.runs);
    snapshot.recordsRead += Number(row.read);
    snapshot.inserted += Number(row.inserted);
    snapshot.duplicates += Number(row.duplicates);
    snapshot.rejected += Number(row.rejected);
  }
  return snapshot;
}
