import { Kysely, sql } from 'kysely';

/**
 * Findings: what the detection rules (src/detect/) raised. Each finding has a deterministic `fingerprint` (its rule,
 * service, client, subject and the first event of its episode), so a pass over data another pass already read, a
 * second follower or a rerun after a crash raises nothing twice: they extend the same row (last seen, count).
 * `evidence` is the predicate its events match (actions, statuses, an address prefix...), applied to the finding's
 * service, client and first..last seen: the evidence events are read from `audit_events` with it, so a long burst
 * needs no row per event and its count is recomputed exactly from the store. Acknowledgement records who and when.
 * Frozen history: never edit after it has shipped; add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table findings (
      id               bigserial   primary key,
      fingerprint      text        collate "C" not null unique,
      rule             text        collate "C" not null,
      severity         text        collate "C" not null,
      status           text        collate "C" not null default 'OPEN',
      service_id       text        collate "C" not null,
      client_id        text        collate "C",
      subject          text        collate "C",
      first_seen       timestamptz not null,
      last_seen        timestamptz not null,
      count            integer     not null,
      summary          text        not null,
      evidence         jsonb       not null,
      raised_at        timestamptz not null default now(),
      updated_at       timestamptz not null default now(),
      acknowledged_by  text,
      acknowledged_at  timestamptz,
      acknowledge_note text,
      constraint findings_status check (status in ('OPEN', 'ACKNOWLEDGED')),
      constraint findings_span check (first_seen <= last_seen)
    )`.execute(db);
  // An episode that goes on is found by its group (rule, service, client, subject) and its latest activity.
  await sql`create index findings_group on findings (rule, service_id, client_id, subject, last_seen desc)`.execute(db);
  await sql`create index findings_first_seen on findings (first_seen, id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists findings`.execute(db);
}
