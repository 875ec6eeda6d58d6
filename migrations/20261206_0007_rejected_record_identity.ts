import { Kysely, sql } from 'kysely';

/**
 * A rejected line gets an identity, so reading it again adds no row: the SHA-256 of its stored text plus its
 * occurrence among identical bad lines of the same input (the first is 0), unique together. Overlapping export
 * windows, re-imports, follower passes and a rerun after a crash then find the row already there and only note
 * when it was last seen, how many times, and by which run.
 * Rows stored before are given their identity (occurrences counted within their run, in line order) and the
 * copies that overlapping reads stored are folded into the first: its first/last seen and count say how often.
 * Frozen history: never edit after it has shipped; add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table rejected_records
      add column line_hash   text,
      add column occurrence  integer,
      add column first_seen  timestamptz,
      add column last_seen   timestamptz,
      add column seen_count  integer not null default 1,
      add column last_run_id bigint references ingest_runs (id) on delete set null`.execute(db);
  await sql`
    update rejected_records r
       set line_hash = numbered.line_hash, occurrence = numbered.occurrence,
           first_seen = r.created_at, last_seen = r.created_at, last_run_id = r.run_id
      from (select id, encode(sha256(convert_to(raw, 'UTF8')), 'hex') as line_hash,
                   (row_number() over (partition by run_id, encode(sha256(convert_to(raw, 'UTF8')), 'hex')
                                       order by line_number, id) - 1)::int as occurrence
              from rejected_records) numbered
     where numbered.id = r.id`.execute(db);
  await sql`
    with groups as (
      select line_hash, occurrence, min(id) as keep, min(created_at) as first_seen, max(created_at) as last_seen,
             count(*)::int as seen_count, (array_agg(run_id order by created_at desc, id desc))[1] as last_run_id
        from rejected_records group by line_hash, occurrence having count(*) > 1
    ), folded as (
      update rejected_records r
         set first_seen = g.first_seen, last_seen = g.last_seen, seen_count = g.seen_count, last_run_id = g.last_run_id
        from groups g where r.id = g.keep
    )
    delete from rejected_records r using groups g
     where r.line_hash = g.line_hash and r.occurrence = g.occurrence and r.id <> g.keep`.execute(db);
  await sql`
    alter table rejected_records
      alter column line_hash set not null,
      alter column occurrence set not null,
      alter column occurrence set default 0,
      alter column first_seen set not null,
      alter column first_seen set default now(),
      alter column last_seen set not null,
      alter column last_seen set default now(),
      add constraint rejected_records_identity unique (line_hash, occurrence)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table rejected_records
      drop constraint rejected_records_identity,
      drop column last_run_id,
      drop column seen_count,
      drop column last_seen,
      drop column first_seen,
      drop column occurrence,
      drop column line_hash`.execute(db);
}
