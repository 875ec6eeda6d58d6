import { Kysely, sql } from 'kysely';

/**
 * Seals: per service and closed hour, the Merkle root of its events in keyset order, chained per service (each
 * seal holds the hash of the service's seal before it) and optionally signed with Ed25519. A period that later
 * records reach gets a new version that supersedes the old one; no seal is ever updated or deleted (retention
 * keeps them). `leaves` holds the period's leaf hashes (32 bytes each, in order) so verify can tell changed,
 * missing and added events apart. `integrity_retention` records each month boundary retention dropped events
 * before, so the seals of those periods report EXPIRED rather than missing events.
 * Frozen history: never edit after it has shipped; add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table integrity_seals (
      id              bigserial   primary key,
      service_id      text        not null,
      period_start    timestamptz not null,
      version         integer     not null,
      event_count     integer     not null,
      root            text        not null,
      leaves          bytea       not null,
      prev_hash       text,
      seal_hash       text        not null unique,
      signature       text,
      key_fingerprint text,
      sealed_at       timestamptz not null default now(),
      supersedes      bigint      references integrity_seals (id),
      constraint integrity_seals_version unique (service_id, period_start, version)
    )`.execute(db);
  await sql`create index integrity_seals_period on integrity_seals (period_start, service_id)`.execute(db);
  await sql`
    create table integrity_retention (
      dropped_before timestamptz primary key,
      partitions     text[]      not null,
      applied_at     timestamptz not null default now()
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists integrity_retention`.execute(db);
  await sql`drop table if exists integrity_seals`.execute(db);
}
