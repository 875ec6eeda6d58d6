import { Kysely, sql } from 'kysely';

/**
 * The audit store: monthly-partitioned events, ingest bookkeeping, rejected records and hourly rollups.
 * Frozen history: never edit after it has shipped; add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create sequence audit_events_id_seq as bigint`.execute(db);

  await sql`
    create table audit_events (
      id               bigint      not null default nextval('audit_events_id_seq'),
      time             timestamptz not null,
      event_key        uuid        not null,
      occurrence       integer     not null default 0,
      source           text        not null,
      partition_id     text        not null,
      service_id       text        not null,
      client_id        text        not null,
      tenant_id        text,
      action           text        not null,
      status           text        not null,
      trace_id         text,
      client_ip        inet,
      hsm_id           text,
      object_ids       text[]      not null default '{}',
      partition_serial text,
      role             text,
      meta             jsonb,
      meta_raw         text,
      meta_malformed   boolean     not null default false,
      extra            jsonb,
      ingest_run_id    bigint,
      constraint audit_events_event_key_unique unique (event_key, time)
    ) partition by range (time)`.execute(db);
  await sql`alter sequence audit_events_id_seq owned by audit_events.id`.execute(db);
  await sql`create table audit_events_default partition of audit_events default`.execute(db);

  // Keyset order is (time, id); btree indexes serve both directions.
  await sql`create index audit_events_time_id on audit_events (time, id)`.execute(db);
  await sql`create index audit_events_service_time_id on audit_events (service_id, time, id)`.execute(db);
  await sql`create index audit_events_client_time_id on audit_events (client_id, time, id)`.execute(db);
  await sql`create index audit_events_action_time_id on audit_events (action, time, id)`.execute(db);
  // Failures are rare: a partial index keeps "what failed" fast at little ingest cost.
  await sql`create index audit_events_failed_time_id on audit_events (status, time, id) where status <> 'LUNA_RET_OK'`.execute(
    db,
  );

  // Creates the month partition holding `at`, moving any rows that landed in the default partition.
  // Concurrent creators serialise on a self-conflicting lock of the default partition; taking a relation
  // lock also makes the waiter see the winner's catalog changes, so the re-check below is reliable.
  await sql`
    create function ensure_audit_events_partition(at timestamptz) returns text
    language plpgsql as $$
    declare
      lo timestamptz := date_trunc('month', at at time zone 'UTC') at time zone 'UTC';
      hi timestamptz := lo + interval '1 month';
      part text := format('audit_events_y%sm%s', to_char(lo at time zone 'UTC', 'YYYY'), to_char(lo at time zone 'UTC', 'MM'));
      cols text;
    begin
      if to_regclass(part) is not null then
        return part;
      end if;
      lock table audit_events_default in share row exclusive mode;
      if to_regclass(part) is not null then
        return part;
      end if;
      select string_agg(quote_ident(attname), ', ' order by attnum) into cols
        from pg_attribute
       where attrelid = 'audit_events'::regclass and attnum > 0 and not attisdropped;
      create temporary table if not exists _moved_audit_events (like audit_events) on commit drop;
      with moved as (delete from audit_events_default where time >= lo and time < hi returning *)
      insert into _moved_audit_events select * from moved;
      execute format('create table %I partition of audit_events for values from (%L) to (%L)', part, lo, hi);
      execute format('insert into audit_events (%s) select %s from _moved_audit_events', cols, cols);
      truncate _moved_audit_events;
      return part;
    end $$`.execute(db);

  await sql`
    create table ingest_runs (
      id             bigserial   primary key,
      kind           text        not null check (kind in ('backfill', 'follow', 'import')),
      source         text        not null,
      window_from    timestamptz,
      window_to      timestamptz,
      export_job_id  text,
      state          text        not null default 'running' check (state in ('running', 'succeeded', 'failed')),
      records_read   bigint      not null default 0,
      inserted       bigint      not null default 0,
      duplicates     bigint      not null default 0,
      rejected       bigint      not null default 0,
      malformed_meta bigint      not null default 0,
      bytes_read     bigint      not null default 0,
      started_at     timestamptz not null default now(),
      heartbeat_at   timestamptz not null default now(),
      finished_at    timestamptz,
      error          text
    )`.execute(db);
  await sql`create index ingest_runs_started_at on ingest_runs (started_at desc, id desc)`.execute(db);

  await sql`
    create table ingest_checkpoints (
      name        text        primary key,
      position    timestamptz,
      detail      jsonb       not null default '{}',
      run_id      bigint      references ingest_runs (id) on delete set null,
      updated_at  timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table rejected_records (
      id          bigserial   primary key,
      run_id      bigint      not null references ingest_runs (id) on delete cascade,
      line_number bigint      not null,
      raw         text        not null,
      reason      text        not null,
      created_at  timestamptz not null default now()
    )`.execute(db);
  await sql`create index rejected_records_run on rejected_records (run_id, line_number)`.execute(db);

  await sql`
    create table audit_rollups_hourly (
      hour       timestamptz not null,
      service_id text        not null,
      client_id  text        not null,
      action     text        not null,
      status     text        not null,
      role       text,
      count      bigint      not null,
      constraint audit_rollups_hourly_key unique nulls not distinct (hour, service_id, client_id, action, status, role)
    )`.execute(db);
  await sql`create index audit_rollups_hourly_service on audit_rollups_hourly (service_id, hour)`.execute(db);
  await sql`create index audit_rollups_hourly_client on audit_rollups_hourly (client_id, hour)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists audit_rollups_hourly`.execute(db);
  await sql`drop table if exists rejected_records`.execute(db);
  await sql`drop table if exists ingest_checkpoints`.execute(db);
  await sql`drop table if exists ingest_runs`.execute(db);
  await sql`drop function if exists ensure_audit_events_partition(timestamptz)`.execute(db);
  await sql`drop table if exists audit_events`.execute(db);
  await sql`drop sequence if exists audit_events_id_seq`.execute(db);
}
