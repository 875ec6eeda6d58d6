import { sql } from 'kysely';
import type { TestDatabase } from '../support/db';

/** Counts of stored events by dimension, in the shape of the simulator's `summarizeRecords`. */
export async function storedSummary(t: TestDatabase): Promise<{
  total: number;
  byService: Record<string, number>;
  byClient: Record<string, number>;
  byAction: Record<string, number>;
  byStatus: Record<string, number>;
  repeats: number;
  malformedMeta: number;
}> {
  const by = async (column: 'service_id' | 'client_id' | 'action' | 'status') => {
    const { rows } = await sql<{
      k: string;
      n: number;
    }>`select ${sql.ref(column)} as k, count(*)::int as n from audit_events group by 1`.execute(t.db);
    return Object.fromEntries(rows.map((r) => [r.k, r.n]));
  };
  const { rows } = await sql<{ total: number; repeats: number; malformed: number }>`
    select count(*)::int as total, count(*) filter (where occurrence > 0)::int as repeats,
           count(*) filter (where meta_malformed)::int as malformed
      from audit_events`.execute(t.db);
  return {
    total: rows[0]!.total,
    byService: await by('service_id'),
    byClient: await by('client_id'),
    byAction: await by('action'),
    byStatus: await by('status'),
    repeats: rows[0]!.repeats,
    malformedMeta: rows[0]!.malformed,
  };
}

/** Rollup rows and the same figures computed by GROUP BY over the events (they must be equal). */
export async function rollupsAndGroupBy(t: TestDatabase): Promise<{ rollups: unknown[]; groupBy: unknown[] }> {
  const { rows: groupBy } = await sql`
    select date_trunc('hour', time, 'UTC') as hour, service_id, client_id, action, status, role, count(*)::text as count
      from audit_events group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6`.execute(t.db);
  const { rows: rollups } = await sql`
    select hour, service_id, client_id, action, status, role, count::text as count
      from audit_rollups_hourly order by 1, 2, 3, 4, 5, 6`.execute(t.db);
  return { rollups, groupBy };
}

/**
 * The derived rollups and what they must equal: the daily rows against the hourly ones summed by UTC day, and the
 * tenant-wide daily rows against the daily ones summed over services (each pair must be equal).
 */
export async function derivedRollups(t: TestDatabase): Promise<{
  daily: unknown[];
  dailyFromHourly: unknown[];
  tenant: unknown[];
  tenantFromDaily: unknown[];
  client: unknown[];
  clientFromHourly: unknown[];
}> {
  const rows = async (query: ReturnType<typeof sql>) => (await query.execute(t.db)).rows;
  return {
    daily: await rows(
      sql`select day, service_id, action, status, count::text as count from audit_rollups_daily order by 1, 2, 3, 4`,
    ),
    dailyFromHourly: await rows(sql`
      select date_trunc('day', hour, 'UTC') as day, service_id, action, status, sum(count)::text as count
        from audit_rollups_hourly group by 1, 2, 3, 4 order by 1, 2, 3, 4`),
    tenant: await rows(
      sql`select day, action, status, count::text as count from audit_rollups_daily_tenant order by 1, 2, 3`,
    ),
    tenantFromDaily: await rows(sql`
      select day, action, status, sum(count)::text as count from audit_rollups_daily group by 1, 2, 3 order by 1, 2, 3`),
    client: await rows(
      sql`select day, service_id, client_id, status, count::text as count from audit_rollups_daily_client order by 1, 2, 3, 4`,
    ),
    clientFromHourly: await rows(sql`
      select date_trunc('day', hour, 'UTC') as day, service_id, client_id, status, sum(count)::text as count
        from audit_rollups_hourly group by 1, 2, 3, 4 order by 1, 2, 3, 4`),
  };
}

/** Address rollup rows and the same figures computed by GROUP BY over the events (they must be equal). */
export async function addressRollupsAndGroupBy(t: TestDatabase): Promise<{ rollups: unknown[]; groupBy: unknown[] }> {
  const { rows: groupBy } = await sql`
    select date_trunc('day', time, 'UTC') as day, service_id, client_id,
           network(set_masklen(client_ip, case when family(client_ip) = 4 then 24 else 64 end))::text as prefix,
           min(time)::text as first_time, max(time)::text as last_time, count(*)::text as count
      from audit_events where client_ip is not null group by 1, 2, 3, 4 order by 2, 3, 4, 1`.execute(t.db);
  const { rows: rollups } = await sql`
    select day, service_id, client_id, prefix::text as prefix, first_time::text as first_time,
           last_time::text as last_time, count::text as count
      from audit_address_rollups_daily order by 2, 3, 4, 1`.execute(t.db);
  return { rollups, groupBy };
}
