import { sql } from 'kysely';
import { listPartitions } from '../db/partitions';
import { ROLLUP_LOCK } from './event-writer';
import type { IngestDeps } from './ingest-deps';

/** What {@link applyRetention} removed. */
export interface RetentionOutcome {
  /** Events older than this may be gone (whole months before it are). */
  cutoff: Date;
  droppedPartitions: string[];
  /** Events removed from the default partition (rows that never had a month partition). */
  defaultPartitionRows: number;
  /** Hourly rollup rows deleted (the daily ones follow by trigger; address rollup rows go too, uncounted). */
  rollupsDeleted: number;
}

/**
 * Drops the month partitions of `audit_events` that lie wholly before now - `olderThanDays`, with the
 * hourly and address rollups of those months, in one transaction. A partition still holding newer events stays.
 */
export async function applyRetention(
  deps: Pick<IngestDeps, 'db' | 'logger'>,
  options: { olderThanDays: number; now?: Date },
): Promise<RetentionOutcome> {
  if (!Number.isFinite(options.olderThanDays) || options.olderThanDays < 1)
    throw new Error(`retention must be at least 1 day, got ${options.olderThanDays}`);
  const now = options.now ?? new Date();
  const cutoff = new Date(now.getTime() - options.olderThanDays * 86_400_000);
  const expired = (await listPartitions(deps.db)).filter((p) => {
    const end = new Date(Date.UTC(p.from.getUTCFullYear(), p.from.getUTCMonth() + 1, 1));
    return end.getTime() <= cutoff.getTime();
  });
  const outcome = await deps.db.transaction().execute(async (tx) => {
    // Rollups change through triggers on three tables: wait for ingest batches' rollup steps, as they wait for each other.
    await sql.raw(ROLLUP_LOCK).execute(tx);
    let rollupsDeleted = 0;
    for (const p of expired) {
      const end = new Date(Date.UTC(p.from.getUTCFullYear(), p.from.getUTCMonth() + 1, 1));
      await sql`drop table ${sql.id(p.name)}`.execute(tx);
      const r = await tx
        .deleteFrom('audit_rollups_hourly')
        .where('hour', '>=', p.from)
        .where('hour', '<', end)
        .executeTakeFirst();
      rollupsDeleted += Number(r.numDeletedRows);
      await tx.deleteFrom('audit_address_rollups_daily').where('day', '>=', p.from).where('day', '<', end).execute();
    }
    // Whole months only: the default partition's rows before the first kept month go the same way.
    const monthCut = new Date(Date.UTC(cutoff.getUTCFullYear(), cutoff.getUTCMonth(), 1));
    const d = await sql`delete from audit_events_default where time < ${monthCut}`.execute(tx);
    const rolled = await tx.deleteFrom('audit_rollups_hourly').where('hour', '<', monthCut).executeTakeFirst();
    rollupsDeleted += Number(rolled.numDeletedRows);
    await tx.deleteFrom('audit_address_rollups_daily').where('day', '<', monthCut).execute();
    // The seals of those periods stay (the chain must verify); this record makes them report EXPIRED.
    await tx
      .insertInto('integrity_retention')
      .values({ dropped_before: monthCut, partitions: expired.map((p) => p.name) })
      .onConflict((oc) => oc.column('dropped_before').doNothing())
      .execute();
    return { defaultPartitionRows: Number(d.numAffectedRows ?? 0), rollupsDeleted };
  });
  const result = { cutoff, droppedPartitions: expired.map((p) => p.name), ...outcome };
  deps.logger?.info(result, 'retention applied');
  return result;
}
