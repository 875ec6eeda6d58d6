import type { Kysely } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Database } from '../db/database';
import { ensurePartitions } from '../db/partitions';
import { STAGING_COLUMNS, STAGING_TABLE_DDL } from './copy-row';
import { appendCopyLine, emptyBatch, sealedPayload, type EventBatch } from './event-batch';

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
  rejected: number;
  malformedMeta: number;
}

const COLUMN_LIST = STAGING_COLUMNS.join(', ');

// Rows go in sorted by (time, event_key) and rollups by their key, so that concurrent writers of
// overlapping data take row locks in the same order and cannot deadlock.
const INSERT_FROM_STAGING = `
  with inserted as (
    insert into audit_events (${COLUMN_LIST})
    select ${COLUMN_LIST} from ingest_staging order by time, event_key
    on conflict (event_key, time) do nothing
    returning time, service_id, client_id, action, status, role
  ), rolled as (
    insert into audit_rollups_hourly (hour, service_id, client_id, action, status, role, count)
    select date_trunc('hour', time, 'UTC'), service_id, client_id, action, status, role, count(*)
      from inserted
     group by 1, 2, 3, 4, 5, 6
     order by 1, 2, 3, 4, 5, 6
    on conflict on constraint audit_rollups_hourly_key do update set count = audit_rollups_hourly.count + excluded.count
  )
  select count(*)::int as inserted from inserted`;

/** SQLSTATE classes that mean "this data", not "this connection": worth isolating the bad row. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code === '23514' || code === '23502');
}

/**
 * Writes batches of events on one dedicated connection. Each batch is one transaction: COPY into a
 * temporary staging table, one `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING` into
 * `audit_events`, the hourly rollups of exactly the inserted rows, the rejected records, the run's
 * counters and the checkpoint. A crash at any point leaves either all of a batch or none of it.
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
      await ensurePartitions(this.db, months.map((m) => new Date(m)));
      for (const m of months) this.ensuredMonths.add(m);
    }
    try {
      return await this.commit(batch, checkpoint);
    } catch (err) {
      if (!isDataError(err) || batch.rows === 0) throw err;
      if (batch.rows === 1) {
        // The input text is not kept per row (memory); the row as sent to PostgreSQL holds every field.
        const lineNumber = batch.lineNumbers[0]!;
        const raw = Buffer.concat(sealedPayload(batch)).toString('utf8').replace(/\n$/, '');
        const reason = `the database refused the record (raw is the row as sent, tab-separated): ${(err as Error).message}`;
        return this.commit({ ...batch, rows: 0, payload: [], pendingText: '', lineNumbers: [], rejected: [...batch.rejected, { lineNumber, raw, reason }] }, checkpoint);
      }
      const [first, second] = this.splitBatch(batch);
      const a = await this.write(first);
      const b = await this.write(second, checkpoint);
      return {
        read: a.read + b.read,
        inserted: a.inserted + b.inserted,
        duplicates: a.duplicates + b.duplicates,
        rejected: a.rejected + b.rejected,
        malformedMeta: a.malformedMeta + b.malformedMeta,
      };
    }
  }

  private async commit(batch: EventBatch, checkpoint: CheckpointUpdate | undefined): Promise<BatchOutcome> {
    const c = this.client;
    await c.query('begin');
    try {
      let inserted = 0;
      if (batch.rows > 0) {
        await this.copyRows(sealedPayload(batch));
        const { rows } = await c.query<{ inserted: number }>(INSERT_FROM_STAGING);
        inserted = rows[0]!.inserted;
      }
      if (batch.rejected.length > 0) {
        await c.query(
          `insert into rejected_records (run_id, line_number, raw, reason)
           select $1, * from unnest($2::bigint[], $3::text[], $4::text[])`,
          [
            this.runId,
            batch.rejected.map((r) => r.lineNumber),
            batch.rejected.map((r) => r.raw.replace(/\0/g, '\\u0000')),
            batch.rejected.map((r) => r.reason.replace(/\0/g, '\\u0000')),
          ],
        );
      }
      const outcome: BatchOutcome = {
        read: batch.read,
        inserted,
        duplicates: batch.rows - inserted,
        rejected: batch.rejected.length,
        malformedMeta: batch.malformedMeta,
      };
      await c.query(
        `update ingest_runs
            set records_read = records_read + $2, inserted = inserted + $3, duplicates = duplicates + $4,
                rejected = rejected + $5, malformed_meta = malformed_meta + $6, bytes_read = greatest(bytes_read, $7),
                heartbeat_at = now()
          where id = $1`,
        [this.runId, outcome.read, outcome.inserted, outcome.duplicates, outcome.rejected, outcome.malformedMeta, batch.bytesRead],
      );
      if (checkpoint) await saveCheckpoint(c, this.runId, checkpoint);
      await c.query('commit');
      return outcome;
    } catch (err) {
      await c.query('rollback').catch(() => undefined);
      throw err;
    }
  }

  private async copyRows(payload: Buffer[]): Promise<void> {
    const stream = this.client.query(copyFrom(`copy ingest_staging (${COLUMN_LIST}) from stdin`));
    await new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
      let i = 0;
      const pump = () => {
        while (i < payload.length) {
          if (!stream.write(payload[i++])) {
            stream.once('drain', pump);
            return;
          }
        }
        stream.end();
      };
      pump();
    });
  }

  /** Splits a batch in two halves; the second keeps the rejects and counters so totals stay right. */
  private splitBatch(batch: EventBatch): [EventBatch, EventBatch] {
    // COPY's text format escapes newlines inside values, so a newline ends exactly one row.
    const lines = Buffer.concat(sealedPayload(batch)).toString('utf8').split('\n');
    lines.pop();
    const half = Math.ceil(lines.length / 2);
    const fill = (target: EventBatch, rows: string[], lineNumbers: number[]) => {
      for (const row of rows) appendCopyLine(target, `${row}\n`);
      target.lineNumbers = lineNumbers;
      return target;
    };
    const first = fill({ ...emptyBatch(), months: batch.months, bytesRead: batch.bytesRead, lastLine: batch.lastLine }, lines.slice(0, half), batch.lineNumbers.slice(0, half));
    const second = fill({ ...batch, rows: 0, payload: [], pendingText: '' }, lines.slice(half), batch.lineNumbers.slice(half));
    return [first, second];
  }

  /** Releases the connection (when the writer opened it). */
  close(): void {
    if (this.ownsClient) this.client.release();
  }

  /** Commits the bookkeeping of an empty batch (e.g. a final checkpoint). */
  async touch(checkpoint?: CheckpointUpdate): Promise<void> {
    await this.commit(emptyBatch(), checkpoint);
  }
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
