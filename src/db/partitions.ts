import { sql, type Kysely } from 'kysely';
import type { Database } from './database';

/** First instant (UTC) of the month holding `at`. */
export function monthStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

/** Name of the partition of `audit_events` that holds `at`. */
export function partitionName(at: Date): string {
  return `audit_events_y${at.getUTCFullYear()}m${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * Makes sure a month partition exists for each given instant. Run it in its own short transaction
 * before inserting (never inside the insert transaction): creating a partition locks the parent.
 */
export async function ensurePartitions(db: Kysely<Database>, instants: Iterable<Date>): Promise<string[]> {
  const months = new Map<number, Date>();
  for (const at of instants) {
    const m = monthStart(at);
    months.set(m.getTime(), m);
  }
  const created: string[] = [];
  for (const m of [...months.values()].sort((a, b) => a.getTime() - b.getTime())) {
    const { rows } = await sql<{ name: string }>`select ensure_audit_events_partition(${m}) as name`.execute(db);
    created.push(rows[0]!.name);
  }
  return created;
}

/** Month partitions of `audit_events` with their lower bound, oldest first (the default partition excluded). */
export async function listPartitions(db: Kysely<Database>): Promise<{ name: string; from: Date }[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'audit_events'::regclass and c.relname ~ '^audit_events_y[0-9]{4}m[0-9]{2}$'
     order by c.relname`.execute(db);
  return rows.map((r) => {
    const m = /^audit_events_y(\d{4})m(\d{2})$/.exec(r.name)!;
    return { name: r.name, from: new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1)) };
  });
}
