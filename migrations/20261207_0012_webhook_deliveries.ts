import { Kysely, sql } from 'kysely';

/**
 * Webhook deliveries: the outbox of new findings for each `WEBHOOK_URLS` endpoint (src/webhooks/). A detection
 * pass inserts one PENDING row per finding it raised and endpoint whose minimum severity it meets, in its own
 * transaction, so a rolled-back pass enqueues nothing and a crash loses nothing. The deliverer claims due rows
 * (`for update skip locked`), POSTs them and records each attempt: DELIVERED on a 2xx, else PENDING again with
 * `next_attempt_at` pushed back, FAILED after the last attempt. `delivery_id` is sent in a header and stays the
 * same across retries, so a receiver can drop a repeat (delivery is at least once).
 * Frozen history: never edit after it has shipped; add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table webhook_deliveries (
      id               bigserial   primary key,
      delivery_id      uuid        not null unique,
      finding_id       bigint      not null references findings (id) on delete cascade,
      url              text        collate "C" not null,
      status           text        collate "C" not null default 'PENDING',
      attempts         integer     not null default 0,
      next_attempt_at  timestamptz not null default now(),
      last_attempt_at  timestamptz,
      last_status_code integer,
      last_error       text,
      created_at       timestamptz not null default now(),
      delivered_at     timestamptz,
      constraint webhook_deliveries_status check (status in ('PENDING', 'DELIVERED', 'FAILED')),
      constraint webhook_deliveries_once unique (finding_id, url)
    )`.execute(db);
  // The deliverer's question, "what is pending and due now?", reads only pending rows, soonest first.
  await sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at, id) where status = 'PENDING'`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists webhook_deliveries`.execute(db);
}
