import { Kysely, sql } from 'kysely';

/**
 * `audit_events.line_digest`: the first 16 bytes of SHA-256 of the input text the event was read from (one JSON
 * Lines line or one array element, as a UUID), or null for events stored before it. A later read of the same
 * window recognises a stored record by this digest before parsing it (src/ingest/stored-lines.ts): the lookup reads
 * a batch's time range through the (time, event_key) index, so the column needs no index of its own.
 * Nullable with no default: adding it rewrites nothing, and older events simply take the parsing path.
 * Frozen history: never edit after it has shipped; add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_events add column line_digest uuid`.execute(db);
  // How many of a run's duplicates were recognised that way (a constant default: adding it rewrites nothing either).
  await sql`alter table ingest_runs add column recognized bigint not null default 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table ingest_runs drop column recognized`.execute(db);
  await sql`alter table audit_events drop column line_digest`.execute(db);
}
