import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Database } from '../db/database';
import { EVENTS_CHANNEL } from '../db/channels';
import { ensurePartitions } from '../db/partitions';
import { STAGING_COLUMNS, STAGING_TABLE_DDL } from './copy-row';
import { emptyBatch, NULL_ROLE, pickRows, rowCount, rowLine, ROLLUP_SEPARATOR, type EventBatch } from './event-batch';

/** A checkpoint written in the same transaction as a batch. */
export interface CheckpointUpdate {
  name: string;
  /** New position; the stored position only moves forward (null keeps it). */
  position: Date | null;
  detail: Record<string, unknown>;
}

/** What one committed batch did. */
export interface BatchOutcome {
  read: number;
  inserted: number;
  duplicates: number;
  /** Of the duplicates, those recognised by their text without being parsed. */
  recognized: number;
  rejected: number;
  malformedMeta: number;
}

const COLUMN_LIST = STAGING_COLUMNS.join(', ');

/** The address prefix NEW_CLIENT_ADDRESS groups by (IPv4 /24, IPv6 /64), as in migration 0013. */
const ADDRESS_PREFIX = (ip: string) => `network(set_masklen(${ip}, case when family(${ip}) = 4 then 24 else 64 end))`;

const ADDRESS_ROLLUP_CONFLICT = `on conflict on constraint audit_address_rollups_daily_key do update
      set first_time = least(audit_address_rollups_daily.first_time, excluded.first_time),
          last_time = greatest(audit_address_rollups_daily.last_time, excluded.last_time),
          count = audit_address_rollups_daily.count + excluded.count`;

// The general path. Rows go in sorted by (time, event_key) and rollups by their key, so that concurrent
// writers of overlapping data take row locks in the same order and cannot deadlock.
const INSERT_FROM_STAGING = `
  with inserted as (
    insert into audit_events (${COLUMN_LIST})
    select ${COLUMN_LIST} from ingest_staging order by time, event_key
    on conflict (event_key, time) do nothing
    returning time, service_id, client_id, action, status, role, client_ip
  ), rolled as (
    insert into audit_rollups_hourly (hour, service_id, client_id, action, status, role, count)
    select date_trunc('hour', time, 'UTC'), service_id, client_id, action, status, role, count(*)
      from inserted
     group by 1, 2, 3, 4, 5, 6
     order by 1, 2, 3, 4, 5, 6
    on conflict on constraint audit_rollups_hourly_key do update set count = audit_rollups_hourly.count + excluded.count
  ), addressed as (
    insert into audit_address_rollups_daily (day, service_id, client_id, prefix, first_time, last_time, count)
    select date_trunc('day', time, 'UTC'), service_id, client_id, ${ADDRESS_PREFIX('client_ip')}, min(time), max(time), count(*)
      from inserted
     where client_ip is not null
     group by 1, 2, 3, 4
     order by 2, 3, 4, 1
    ${ADDRESS_ROLLUP_CONFLICT}
  )
  select count(*)::int as inserted from inserted`;

// Which of the batch's (time, event_key) pairs are stored already (an index probe each), as one string
// with a '1' (stored) or '0' (new) per row: a one-row answer costs next to nothing to receive. The lists go
// in as comma-joined text, far cheaper to send than array parameters.
const STORED_FLAGS = `
  select string_agg(
           case when exists (select 1 from audit_events a where a.time = b.t and a.event_key = b.k and a.time >= $3 and a.time <= $4)
                then '1' else '0' end,
           '' order by b.n) as flags
    from unnest(string_to_array($1, ',')::uuid[], string_to_array($2, ',')::timestamptz[]) with ordinality as b(k, t, n)`;

/**
 * Taken (until commit) by every transaction just before it writes rollups. One batch's hourly upsert updates and
 * inserts in separate rounds, and triggers carry each round on to the daily and tenant-wide rollups, whose rows
 * writers of different services share: key order inside each round cannot order the whole, so concurrent
 * writers could deadlock there. Serialising the rollup step (the end of a batch, after its events) cannot.
 */
export const ROLLUP_LOCK = `select pg_advisory_xact_lock(hashtext('dpod-audit:rollups'))`;

const UPSERT_ROLLUPS = `
  insert into audit_rollups_hourly (hour, service_id, client_id, action, status, role, count)
  select * from unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
   order by 1, 2, 3, 4, 5, 6
  on conflict on constraint audit_rollups_hourly_key do update set count = audit_rollups_hourly.count + excluded.count`;

// The batch's address groups are per client address (the prefix is PostgreSQL's to compute, IPv6 included), summed
// here per prefix and upserted in key order, after the rollup lock like the hourly rollups.
const UPSERT_ADDRESS_ROLLUPS = `
  insert into audit_address_rollups_daily (day, service_id, client_id, prefix, first_time, last_time, count)
  select d, s, c, ${ADDRESS_PREFIX('ip')}, min(f), max(l), sum(n)
    from unnest($1::timestamptz[], $2::text[], $3::text[], $4::inet[], $5::timestamptz[], $6::timestamptz[], $7::bigint[])
         as u(d, s, c, ip, f, l, n)
   group by 1, 2, 3, 4
   order by 2, 3, 4, 1
  ${ADDRESS_ROLLUP_CONFLICT}`;

// Sent in the batch's transaction: PostgreSQL delivers it at commit, or never (see src/db/channels.ts). The rows this
// transaction inserted carry its id as their xmin: with the time span, that names exactly them (a run may have several
// writers at once, so neither the run nor an id range would).
const NOTIFY_EVENTS = `
  select pg_notify($1, json_build_object('run', $2::text, 'xid', (txid_current() % 4294967296)::text,
                                         'from', $3::text, 'to', $4::text, 'count', $5::int)::text)`;

/** The earliest and latest of ISO-8601 times (they sort as text). */
function timeSpan(times: readonly string[]): { lo: string; hi: string } {
  let lo = times[0]!;
  let hi = lo;
  for (const t of times) {
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  return { lo, hi };
}

/**
 * The address rollup deltas of a batch's fresh rows, as the parallel arrays of {@link UPSERT_ADDRESS_ROLLUPS}: per
 * address group (day, service, client, address) its first and last time and count.
 */
function addressDeltas(
  batch: EventBatch,
  fresh: readonly number[],
): [string[], string[], string[], string[], string[], string[], number[]] {
  const first: (string | undefined)[] = new Array<string | undefined>(batch.addressKeys.size);
  const last: string[] = new Array<string>(batch.addressKeys.size);
  const counts = new Array<number>(batch.addressKeys.size).fill(0);
  for (const i of fresh) {
    const g = batch.addresses[i]!;
    if (g < 0) continue;
    const t = batch.times[i]!;
    const f = first[g];
    if (f === undefined) {
      first[g] = t;
      last[g] = t;
    } else if (t < f) first[g] = t;
    else if (t > last[g]!) last[g] = t;
    counts[g]!++;
  }
  const out: [string[], string[], string[], string[], string[], string[], number[]] = [[], [], [], [], [], [], []];
  for (const [key, g] of batch.addressKeys) {
    if (counts[g] === 0) continue;
    const [day, service, client, ip] = key.split(ROLLUP_SEPARATOR) as [string, string, string, string];
    out[0].push(`${day}T00:00:00Z`);
    out[1].push(service);
    out[2].push(client);
    out[3].push(ip);
    out[4].push(first[g]!);
    out[5].push(last[g]!);
    out[6].push(counts[g]!);
  }
  return out;
}

/** SQLSTATE classes that mean "this data", not "this connection": worth isolating the bad row. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code === '23514' || code === '23502');
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown }).code === '23505';
}

/** A deadlock or serialization failure: the transaction was rolled back and may simply run again. */
function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '40P01' || code === '40001';
}

/** Attempts of one batch transaction that PostgreSQL aborts as a deadlock or serialization failure. */
export const TRANSIENT_ATTEMPTS = 4;

/**
 * Writes batches of events on one dedicated connection; each batch is one transaction holding the
 * events, the hourly rollups of exactly the inserted rows, the rejected records, the run's counters and
 * the checkpoint. A crash at any point leaves either all of a batch or none of it.
 *
 * Two ways in, same result:
 * - direct (the usual case): probe which keys exist, then COPY only the new rows straight into
 *   `audit_events` and add their rollups. Half the work of staging, and all-duplicate batches write nothing.
 *   A concurrent writer that stores one of those rows first makes the COPY fail on the unique key; the
 *   batch is then rolled back and redone the general way.
 * - staged (the general path): COPY into a temporary staging table, then one
 *   `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING` and the rollups of the returned rows.
 */
export class EventWriter {
  private readonly ensuredMonths = new Set<number>();

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly client: pg.PoolClient,
    private readonly ownsClient: boolean,
    private readonly runId: string,
  ) {}

  /** Prepares a writer on `client` (or a new connection from `pool`, released by {@link close}). */
  static async open(db: Kysely<Database>, pool: pg.Pool, runId: string, client?: pg.PoolClient): Promise<EventWriter> {
    const c = client ?? (await pool.connect());
    try {
      await c.query(STAGING_TABLE_DDL);
    } catch (err) {
      if (!client) c.release();
      throw err;
    }
    return new EventWriter(db, c, !client, runId);
  }

  /** Commits one batch (splitting it to isolate any row the database refuses); returns what it did. */
  async write(batch: EventBatch, checkpoint?: CheckpointUpdate): Promise<BatchOutcome> {
    const months = [...batch.months].filter((m) => !this.ensuredMonths.has(m));
    if (months.length > 0) {
      await ensurePartitions(
        this.db,
        months.map((m) => new Date(m)),
      );
      for (const m of months) this.ensuredMonths.add(m);
    }
    try {
      try {
        return await this.commitRetrying(batch, checkpoint, 'direct');
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        return await this.commitRetrying(batch, checkpoint, 'staged');
      }
    } catch (err) {
      const rows = rowCount(batch);
      if (!isDataError(err) || rows === 0) throw err;
      if (rows === 1) {
        // The input text is not kept per row (memory); the row as sent to PostgreSQL holds every field.
        const lineNumber = batch.lineNumbers[0]!;
        const raw = rowLine(batch, 0).toString('utf8').replace(/\n$/, '');
        const reason = `the database refused the record (raw is the row as sent, tab-separated): ${(err as Error).message}`;
        const rest = {
          ...emptyBatch(),
          read: batch.read,
          malformedMeta: batch.malformedMeta,
          known: batch.known,
          bytesRead: batch.bytesRead,
          lastLine: batch.lastLine,
          // Its identity is its event key's (the row text holds this run's id, which differs at every read).
          rejected: [
            ...batch.rejected,
            {
              lineNumber,
              raw,
              reason,
              lineHash: createHash('sha256')
                .update(`refused row ${batch.keys[0] ?? raw}`)
                .digest('hex'),
              occurrence: 0,
            },
          ],
        };
        return this.commitRetrying(rest, checkpoint, 'staged');
      }
      // Split in halves; the second keeps the rejects and counters so totals stay right.
      const half = Math.ceil(rows / 2);
      const all = [...Array(rows).keys()];
      const first = pickRows(batch, all.slice(0, half));
      const second = {
        ...pickRows(batch, all.slice(half)),
        rejected: batch.rejected,
        read: batch.read,
        malformedMeta: batch.malformedMeta,
        known: batch.known,
      };
      const a = await this.write(first);
      const b = await this.write(second, checkpoint);
      return {
        read: a.read + b.read,
        inserted: a.inserted + b.inserted,
        duplicates: a.duplicates + b.duplicates,
        recognized: a.recognized + b.recognized,
        rejected: a.rejected + b.rejected,
        malformedMeta: a.malformedMeta + b.malformedMeta,
      };
    }
  }

  /**
   * {@link commit}, run again (after a short, growing pause) when PostgreSQL aborts it as a deadlock or a
   * serialization failure; the transaction was rolled back whole, so running it again is safe.
   */
  private async commitRetrying(
    batch: EventBatch,
    checkpoint: CheckpointUpdate | undefined,
    how: 'direct' | 'staged',
  ): Promise<BatchOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.commit(batch, checkpoint, how);
      } catch (err) {
        if (!isTransient(err) || attempt >= TRANSIENT_ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt ** 2 + Math.random() * 20));
      }
    }
  }

  private async commit(
    batch: EventBatch,
    checkpoint: CheckpointUpdate | undefined,
    how: 'direct' | 'staged',
  ): Promise<BatchOutcome> {
    const c = this.client;
    await c.query('begin');
    try {
      const rows = rowCount(batch);
      const inserted =
        rows === 0 ? 0 : how === 'direct' ? await this.insertDirect(batch) : await this.insertStaged(batch);
      if (inserted > 0) {
        const span = timeSpan(batch.times);
        await c.query(NOTIFY_EVENTS, [EVENTS_CHANNEL, this.runId, span.lo, span.hi, inserted]);
      }
      if (batch.rejected.length > 0) {
        await c.query(
          // A line read before (an overlapping window, a re-import, a rerun) adds no row: it is noted as seen again.
          `insert into rejected_records (run_id, last_run_id, line_number, raw, reason, line_hash, occurrence)
           select $1, $1, * from unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[])
           on conflict (line_hash, occurrence) do update
             set last_seen = now(), seen_count = rejected_records.seen_count + 1, last_run_id = excluded.run_id`,
          [
            this.runId,
            batch.rejected.map((r) => r.lineNumber),
            batch.rejected.map((r) => r.raw.replace(/\0/g, '\\u0000')),
            batch.rejected.map((r) => r.reason.replace(/\0/g, '\\u0000')),
            batch.rejected.map((r) => r.lineHash),
            batch.rejected.map((r) => r.occurrence),
          ],
        );
      }
      const outcome: BatchOutcome = {
        read: batch.read,
        inserted,
        duplicates: rows - inserted + batch.known,
        recognized: batch.known,
        rejected: batch.rejected.length,
        malformedMeta: batch.malformedMeta,
      };
      await c.query(
        `update ingest_runs
            set records_read = records_read + $2, inserted = inserted + $3, duplicates = duplicates + $4,
                rejected = rejected + $5, malformed_meta = malformed_meta + $6, bytes_read = greatest(bytes_read, $7),
                recognized = recognized + $8, heartbeat_at = now()
          where id = $1`,
        [
          this.runId,
          outcome.read,
          outcome.inserted,
          outcome.duplicates,
          outcome.rejected,
          outcome.malformedMeta,
          batch.bytesRead,
          outcome.recognized,
        ],
      );
      if (checkpoint) await saveCheckpoint(c, this.runId, checkpoint);
      await c.query('commit');
      return outcome;
    } catch (err) {
      await c.query('rollback').catch(() => undefined);
      throw err;
    }
  }

  private async insertStaged(batch: EventBatch): Promise<number> {
    await this.copy('ingest_staging', [batch.data.subarray(0, batch.used)]);
    // The general path writes events and rollups in one statement: it is rare (a concurrent writer got in
    // between probe and COPY), so it takes the rollup lock for all of it.
    await this.client.query(ROLLUP_LOCK);
    const { rows } = await this.client.query<{ inserted: number }>(INSERT_FROM_STAGING);
    return rows[0]!.inserted;
  }

  private async insertDirect(batch: EventBatch): Promise<number> {
    const { lo, hi } = timeSpan(batch.times);
    const { rows } = await this.client.query<{ flags: string }>(STORED_FLAGS, [
      batch.keys.join(','),
      batch.times.join(','),
      lo,
      hi,
    ]);
    const flags = rows[0]!.flags;
    const fresh: number[] = [];
    // Identical keys inside one batch cannot happen (occurrences differ), so "not stored" means "new".
    for (let i = 0; i < batch.keys.length; i++) if (flags.charCodeAt(i) === 48) fresh.push(i);
    if (fresh.length === 0) return 0;
    // Sorted by (time, key), like the general path, so concurrent writers lock in the same order.
    fresh.sort((a, b) =>
      batch.times[a]! < batch.times[b]!
        ? -1
        : batch.times[a]! > batch.times[b]!
          ? 1
          : batch.keys[a]! < batch.keys[b]!
            ? -1
            : 1,
    );
    // The whole buffer may go as it is only when every row is new and already in order.
    const sorted = fresh.length === rowCount(batch) && fresh.every((v, i) => v === i);
    await this.copy(
      'audit_events',
      sorted ? [batch.data.subarray(0, batch.used)] : fresh.map((i) => rowLine(batch, i)),
    );
    const counts = new Array<number>(batch.rollupKeys.size).fill(0);
    for (const i of fresh) counts[batch.rollups[i]!]!++;
    const cols: (string | null)[][] = [[], [], [], [], [], []];
    const n: number[] = [];
    for (const [key, group] of batch.rollupKeys) {
      if (counts[group] === 0) continue;
      const parts = key.split(ROLLUP_SEPARATOR);
      for (let j = 0; j < 6; j++) cols[j]!.push(j === 5 && parts[j] === NULL_ROLE ? null : parts[j]!);
      n.push(counts[group]!);
    }
    const addresses = addressDeltas(batch, fresh);
    await this.client.query(ROLLUP_LOCK);
    await this.client.query(UPSERT_ROLLUPS, [...cols, n]);
    if (addresses[0].length > 0) await this.client.query(UPSERT_ADDRESS_ROLLUPS, addresses);
    return fresh.length;
  }

  private async copy(table: string, pieces: Buffer[]): Promise<void> {
    const stream = this.client.query(copyFrom(`copy ${table} (${COLUMN_LIST}) from stdin`));
    await new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
      const CHUNK = 256;
      let i = 0;
      const pump = () => {
        while (i < pieces.length) {
          const chunk = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces.slice(i, i + CHUNK));
          i += pieces.length === 1 ? 1 : CHUNK;
          if (!stream.write(chunk)) {
            stream.once('drain', pump);
            return;
          }
        }
        stream.end();
      };
      pump();
    });
  }

  /** Releases the connection (when the writer opened it). */
  close(): void {
    if (this.ownsClient) this.client.release();
  }

  /** Commits the bookkeeping of an empty batch (e.g. a final checkpoint). */
  async touch(checkpoint?: CheckpointUpdate): Promise<void> {
    await this.commit(emptyBatch(), checkpoint, 'staged');
  }
}

/** Default number of writers (connections) per run: batches are written two at a time. */
export const DEFAULT_PARALLELISM = 2;

/**
 * Opens `parallelism` writers for a run; the first uses `client` when given (e.g. one holding a lease).
 * Batches on different writers commit independently; counters add up, and checkpoint positions only
 * move forward, so their order does not matter.
 */
export async function openWriters(
  db: Kysely<Database>,
  pool: pg.Pool,
  runId: string,
  options: { client?: pg.PoolClient; parallelism?: number } = {},
): Promise<EventWriter[]> {
  const writers: EventWriter[] = [];
  try {
    for (let i = 0; i < Math.max(1, options.parallelism ?? DEFAULT_PARALLELISM); i++) {
      writers.push(await EventWriter.open(db, pool, runId, i === 0 ? options.client : undefined));
    }
  } catch (err) {
    for (const w of writers) w.close();
    throw err;
  }
  return writers;
}

/** Upserts a checkpoint; its position never moves backwards. */
export async function saveCheckpoint(c: pg.ClientBase, runId: string | null, cp: CheckpointUpdate): Promise<void> {
  await c.query(
    `insert into ingest_checkpoints (name, position, detail, run_id, updated_at)
     values ($1, $2, $3, $4, now())
     on conflict (name) do update
        set position = greatest(ingest_checkpoints.position, excluded.position),
            detail = excluded.detail, run_id = excluded.run_id, updated_at = now()`,
    [cp.name, cp.position, JSON.stringify(cp.detail), runId],
  );
}
