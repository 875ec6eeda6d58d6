import { Kysely, sql } from 'kysely';

/**
 * `audit_events.leaf`: the event's leaf hash as the importer computed it from the values it wrote (see
 * src/integrity/ingest-leaf.ts), or null where it did not. Only the sealer reads it, so that sealing costs a read of
 * 32 bytes per event rather than a recomputation of every leaf; `verify` always recomputes from the columns.
 * Nullable with no default: adding it rewrites nothing, and events stored before it are sealed from their columns.
 * Frozen history: never edit after it has shipped; add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_events add column leaf bytea`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_events drop column leaf`.execute(db);
}
