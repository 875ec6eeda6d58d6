import { sql, type Kysely } from 'kysely';
import type { Database, IngestRunRow, IngestRunsTable } from '../db/database';

/** What one run did: the summary printed per run and recorded in `ingest_runs`. */
export interface RunSummary {
  runId: string;
  kind: IngestRunsTable['kind'];
  source: string;
  state: 'succeeded' | 'failed';
  windowFrom: Date | null;
  windowTo: Date | null;
  exportJobId: string | null;
  read: number;
  inserted: number;
  duplicates: number;
  /** Of the duplicates, those recognised by their text without being parsed. */
  recognized: number;
  rejected: number;
  malformedMeta: number;
  bytes: number;
  seconds: number;
  eventsPerSecond: number;
  error: string | null;
}

/** Fields of a new run. */
export interface NewRun {
  kind: IngestRunsTable['kind'];
  source: string;
  windowFrom?: Date | null;
  windowTo?: Date | null;
  exportJobId?: string | null;
}

/** Records the start of a run; returns its id. */
export async function startRun(db: Kysely<Database>, run: NewRun): Promise<string> {
  const row = await db
    .insertInto('ingest_runs')
    .values({
      kind: run.kind,
      source: run.source,
      window_from: run.windowFrom ?? null,
      window_to: run.windowTo ?? null,
      export_job_id: run.exportJobId ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Notes the export job of a running run. */
export async function setRunExportJob(db: Kysely<Database>, runId: string, jobId: string): Promise<void> {
  await db
    .updateTable('ingest_runs')
    .set({ export_job_id: jobId, heartbeat_at: sql`now()` })
    .where('id', '=', runId)
    .execute();
}

/** Marks a run finished and returns its summary (counters as committed by its batches). */
export async function finishRun(db: Kysely<Database>, runId: string, error: unknown): Promise<RunSummary> {
  const message =
    error === null || error === undefined
      ? null
      : error instanceof Error
        ? error.message
        : typeof error === 'string'
          ? error
          : JSON.stringify(error);
  const row = await db
    .updateTable('ingest_runs')
    .set({
      state: message === null ? 'succeeded' : 'failed',
      finished_at: sql`now()`,
      heartbeat_at: sql`now()`,
      error: message,
    })
    .where('id', '=', runId)
    .returningAll()
    .executeTakeFirstOrThrow();
  return summarizeRun(rowToIngestRun(row));
}

/** An `ingest_runs` row as the rest of the code sees it (counters as numbers). */
export interface IngestRunRecord {
  id: string;
  kind: IngestRunsTable['kind'];
  source: string;
  state: string;
  windowFrom: Date | null;
  windowTo: Date | null;
  exportJobId: string | null;
  recordsRead: number;
  inserted: number;
  duplicates: number;
  recognized: number;
  rejected: number;
  malformedMeta: number;
  bytesRead: number;
  startedAt: Date;
  heartbeatAt: Date;
  finishedAt: Date | null;
  error: string | null;
}

/** Maps an `ingest_runs` row to an {@link IngestRunRecord}: the one place its columns are read. */
export function rowToIngestRun(row: IngestRunRow): IngestRunRecord {
  return {
    id: row.id,
    kind: row.kind,
    source: row.source,
    state: row.state,
    windowFrom: row.window_from,
    windowTo: row.window_to,
    exportJobId: row.export_job_id,
    recordsRead: Number(row.records_read),
    inserted: Number(row.inserted),
    duplicates: Number(row.duplicates),
    recognized: Number(row.recognized),
    rejected: Number(row.rejected),
    malformedMeta: Number(row.malformed_meta),
    bytesRead: Number(row.bytes_read),
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    finishedAt: row.finished_at,
    error: row.error,
  };
}

/** Builds the {@link RunSummary} of a run. */
export function summarizeRun(run: IngestRunRecord): RunSummary {
  const seconds = Math.max(0.001, ((run.finishedAt ?? new Date()).getTime() - run.startedAt.getTime()) / 1000);
  return {
    runId: run.id,
    kind: run.kind,
    source: run.source,
    state: run.state === 'succeeded' ? 'succeeded' : 'failed',
    windowFrom: run.windowFrom,
    windowTo: run.windowTo,
    exportJobId: run.exportJobId,
    read: run.recordsRead,
    inserted: run.inserted,
    duplicates: run.duplicates,
    recognized: run.recognized,
    rejected: run.rejected,
    malformedMeta: run.malformedMeta,
    bytes: run.bytesRead,
    seconds: Math.round(seconds * 1000) / 1000,
    eventsPerSecond: Math.round(run.recordsRead / seconds),
    error: run.error,
  };
}

/** Seconds between the heartbeats of a running run (the default of {@link startRunHeartbeat}). */
export const RUN_HEARTBEAT_SECONDS = 30;

/** A running run whose last heartbeat is older than this many seconds is abandoned (ten missed beats). */
export const RUN_STALE_SECONDS = 300;

/** Notes that a running run is alive (its process is still working on it, even if it stores nothing yet). */
export async function heartbeatRun(db: Kysely<Database>, runId: string): Promise<void> {
  await db
    .updateTable('ingest_runs')
    .set({ heartbeat_at: sql`now()` })
    .where('id', '=', runId)
    .where('state', '=', 'running')
    .execute();
}

/**
 * Beats a run's heartbeat every `intervalSeconds` (default {@link RUN_HEARTBEAT_SECONDS}) until the returned
 * stop function is called, so a run that waits long (an export being prepared, a slow download) is never taken
 * for abandoned. The timer does not keep the process alive; a failed beat is reported and the next one retried.
 */
export function startRunHeartbeat(
  db: Kysely<Database>,
  runId: string,
  options: { intervalSeconds?: number; onError?: (err: unknown) => void } = {},
): () => Promise<void> {
  let beating: Promise<void> | null = null;
  const timer = setInterval(
    () => {
      if (beating) return;
      beating = heartbeatRun(db, runId)
        .catch((err) => options.onError?.(err))
        .finally(() => {
          beating = null;
        });
    },
    (options.intervalSeconds ?? RUN_HEARTBEAT_SECONDS) * 1000,
  );
  timer.unref();
  return async () => {
    clearInterval(timer);
    await beating;
  };
}

/**
 * Marks running runs whose heartbeat is older than `staleSeconds` (default {@link RUN_STALE_SECONDS}) as failed:
 * their process stopped (killed, crashed). How long ago a run started does not matter. Returns how many.
 */
export async function failAbandonedRuns(db: Kysely<Database>, staleSeconds = RUN_STALE_SECONDS): Promise<number> {
  const rows = await db
    .updateTable('ingest_runs')
    .set({
      state: 'failed',
      finished_at: sql`now()`,
      error: 'abandoned: the ingesting process stopped without finishing',
    })
    .where('state', '=', 'running')
    .where('heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${staleSeconds})`)
    .returning('id')
    .execute();
  return rows.length;
}

/** One line describing a run, as the CLI prints it. */
export function formatRunSummary(s: RunSummary): string {
  const window = s.windowFrom && s.windowTo ? ` [${s.windowFrom.toISOString()} .. ${s.windowTo.toISOString()})` : '';
  return (
    `${s.kind} ${s.source}${window}: ${s.state}; read ${s.read}, inserted ${s.inserted}, duplicates ${s.duplicates}, ` +
    `rejected ${s.rejected}, malformed meta ${s.malformedMeta}, recognised by text ${s.recognized}; ${s.seconds}s, ${s.eventsPerSecond} events/s` +
    (s.error ? `; error: ${s.error}` : '')
  );
}
