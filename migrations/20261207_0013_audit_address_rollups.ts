import { Kysely, sql } from 'kysely';

/**
 * Address rollups per (service, client, address prefix, UTC day): the first and last event time and the count of the
 * client's events from that prefix (IPv4 /24, IPv6 /64) that day. Ingest keeps them exact in each batch's transaction,
 * from the rows it actually inserted, as it keeps the hourly rollups; events without a client address have no row.
 * NEW_CLIENT_ADDRESS reads them instead of grouping every event of its range (docs/performance.md#detection).
 * The key leads with the group so that a prefix's earlier days are one index range; `day` has its own index for the
 * rows of a pass's days. Identifier columns use the "C" collation, as every other table's do (0004).
 * The backfill below groups every stored event once.
 * Frozen history: never edit after it has shipped; add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table audit_address_rollups_daily (
      day        timestamptz not null,
      service_id text        collate "C" not null,
      client_id  text        collate "C" not null,
      prefix     cidr        not null,
      first_time timestamptz not null,
      last_time  timestamptz not null,
      count      bigint      not null,
      constraint audit_address_rollups_daily_key primary key (service_id, client_id, prefix, day)
    ) with (fillfactor = 50)`.execute(db);
  await sql`create index audit_address_rollups_daily_day on audit_address_rollups_daily (day)`.execute(db);
  await sql`
    insert into audit_address_rollups_daily (day, service_id, client_id, prefix, first_time, last_time, count)
    select date_trunc('day', time, 'UTC'), service_id, client_id,
           network(set_masklen(client_ip, case when family(client_ip) = 4 then 24 else 64 end)),
           min(time), max(time), count(*)
      from audit_events
     where client_ip is not null
     group by 1, 2, 3, 4`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists audit_address_rollups_daily`.execute(db);
}
