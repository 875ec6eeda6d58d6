import { Kysely, sql } from 'kysely';

/**
 * Daily rollups per (day, service, client, status), kept exact by statement-level triggers on the hourly rollups
 * as the daily ones are (0003). They answer per-client counts over long ranges, such as every client's
 * `actions { totalCount }` in the headline traversal, from a few rows per client and day instead of every hourly
 * row of every client (1.3M rows at 10M events: 176 ms; docs/performance.md).
 * Identifier columns use the "C" collation, as every other table's do (0004, 0006): comparisons with the hourly
 * rollups' columns then use the indexes.
 * Frozen history: never edit after it has shipped; add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table audit_rollups_daily_client (
      day        timestamptz not null,
      service_id text        collate "C" not null,
      client_id  text        collate "C" not null,
      status     text        collate "C" not null,
      count      bigint      not null,
      constraint audit_rollups_daily_client_key primary key (day, service_id, client_id, status)
    ) with (fillfactor = 50)`.execute(db);
  await sql`create index audit_rollups_daily_client_client on audit_rollups_daily_client (client_id, day)`.execute(db);

  // Deltas are applied in key order so that concurrent ingest transactions lock rows in the same order.
  await sql`
    create function audit_rollups_daily_client_on_insert() returns trigger language plpgsql as $$
    begin
      insert into audit_rollups_daily_client (day, service_id, client_id, status, count)
      select date_trunc('day', hour, 'UTC'), service_id, client_id, status, sum(count)
        from inserted_rows group by 1, 2, 3, 4 order by 1, 2, 3, 4
      on conflict on constraint audit_rollups_daily_client_key
        do update set count = audit_rollups_daily_client.count + excluded.count;
      return null;
    end $$`.execute(db);
  await sql`
    create function audit_rollups_daily_client_on_update() returns trigger language plpgsql as $$
    begin
      insert into audit_rollups_daily_client (day, service_id, client_id, status, count)
      select day, service_id, client_id, status, sum(delta)
        from (select date_trunc('day', hour, 'UTC') as day, service_id, client_id, status, count as delta from new_rows
              union all
              select date_trunc('day', hour, 'UTC'), service_id, client_id, status, -count from old_rows) d
       group by 1, 2, 3, 4 having sum(delta) <> 0 order by 1, 2, 3, 4
      on conflict on constraint audit_rollups_daily_client_key
        do update set count = audit_rollups_daily_client.count + excluded.count;
      delete from audit_rollups_daily_client
       where count = 0 and day in (select date_trunc('day', hour, 'UTC') from old_rows);
      return null;
    end $$`.execute(db);
  await sql`
    create function audit_rollups_daily_client_on_delete() returns trigger language plpgsql as $$
    begin
      update audit_rollups_daily_client r set count = r.count - d.total
        from (select date_trunc('day', hour, 'UTC') as day, service_id, client_id, status, sum(count) as total
                from deleted_rows group by 1, 2, 3, 4) d
       where r.day = d.day and r.service_id = d.service_id and r.client_id = d.client_id and r.status = d.status;
      delete from audit_rollups_daily_client
       where count <= 0 and day in (select date_trunc('day', hour, 'UTC') from deleted_rows);
      return null;
    end $$`.execute(db);
  await sql`
    create function audit_rollups_daily_client_on_truncate() returns trigger language plpgsql as $$
    begin
      truncate audit_rollups_daily_client;
      return null;
    end $$`.execute(db);

  await sql`create trigger audit_rollups_daily_client_insert after insert on audit_rollups_hourly
    referencing new table as inserted_rows for each statement
    execute function audit_rollups_daily_client_on_insert()`.execute(db);
  await sql`create trigger audit_rollups_daily_client_update after update on audit_rollups_hourly
    referencing old table as old_rows new table as new_rows for each statement
    execute function audit_rollups_daily_client_on_update()`.execute(db);
  await sql`create trigger audit_rollups_daily_client_delete after delete on audit_rollups_hourly
    referencing old table as deleted_rows for each statement
    execute function audit_rollups_daily_client_on_delete()`.execute(db);
  await sql`create trigger audit_rollups_daily_client_truncate after truncate on audit_rollups_hourly
    for each statement execute function audit_rollups_daily_client_on_truncate()`.execute(db);

  await sql`
    insert into audit_rollups_daily_client (day, service_id, client_id, status, count)
    select date_trunc('day', hour, 'UTC'), service_id, client_id, status, sum(count)
      from audit_rollups_hourly group by 1, 2, 3, 4`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists audit_rollups_daily_client_truncate on audit_rollups_hourly`.execute(db);
  await sql`drop trigger if exists audit_rollups_daily_client_delete on audit_rollups_hourly`.execute(db);
  await sql`drop trigger if exists audit_rollups_daily_client_update on audit_rollups_hourly`.execute(db);
  await sql`drop trigger if exists audit_rollups_daily_client_insert on audit_rollups_hourly`.execute(db);
  await sql`drop function if exists audit_rollups_daily_client_on_truncate()`.execute(db);
  await sql`drop function if exists audit_rollups_daily_client_on_delete()`.execute(db);
  await sql`drop function if exists audit_rollups_daily_client_on_update()`.execute(db);
  await sql`drop function if exists audit_rollups_daily_client_on_insert()`.execute(db);
  await sql`drop table if exists audit_rollups_daily_client`.execute(db);
}
