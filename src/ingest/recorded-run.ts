import type pg from 'pg';
import type { IngestDeps } from './ingest-deps';
import { openWriters, type EventWriter } from './event-writer';
import { storedLineLookup, type StoredLineLookup } from './stored-lines';
import { createProgressReporter, type IngestProgress } from './progress-reporter';
import { finishRun, startRun, startRunHeartbeat, type NewRun, type RunSummary } from './ingest-run';

/**
 * What the body of a {@link recordedRun} gets: its run id, writers opened on demand, the lookup of stored records by
 * their text, and a progress sink.
 */
export interface RunScope {
  runId: string;
  openWriters: () => Promise<EventWriter[]>;
  lookupStored: StoredLineLookup;
  /** Where a failed lookup of stored records is reported (the run goes on, parsing every record). */
  onLookupFailure: (err: unknown) => void;
  onProgress: (progress: IngestProgress) => void;
}

/** Options of {@link recordedRun}. */
export interface RecordedRunOptions {
  progressBar?: boolean;
  parallelism?: number;
  client?: pg.PoolClient;
  /** Seconds between the run's heartbeats while it runs (default `RUN_HEARTBEAT_SECONDS`, 30). */
  heartbeatSeconds?: number;
}

/**
 * Runs `body` as one recorded ingest run: starts the `ingest_runs` row, keeps its heartbeat fresh while the
 * body runs (so no other process takes it for abandoned), reports progress, closes the writers and the
 * progress bar whatever happens, and finishes the row as succeeded or failed (with the error).
 */
export async function recordedRun(
  deps: IngestDeps,
  run: NewRun,
  options: RecordedRunOptions,
  body: (scope: RunScope) => Promise<void>,
): Promise<RunSummary> {
  const runId = await startRun(deps.db, run);
  const stopHeartbeat = startRunHeartbeat(deps.db, runId, {
    intervalSeconds: options.heartbeatSeconds,
    onError: (err) => deps.logger?.warn({ err, runId }, 'ingest run heartbeat failed; retrying at the next beat'),
  });
  const reporter = createProgressReporter(deps.logger, { tty: options.progressBar });
  let writers: EventWriter[] = [];
  let error: unknown = null;
  try {
    await body({
      runId,
      openWriters: async () =>
        (writers = await openWriters(deps.db, deps.pool, runId, {
          client: options.client,
          parallelism: options.parallelism,
        })),
      lookupStored: storedLineLookup(deps.pool),
      onLookupFailure: (err) =>
        deps.logger?.warn(
          { err, runId },
          'looking up stored records by their text failed; this run parses every record instead (same result, slower)',
        ),
      onProgress: (p) => {
        reporter.update(p);
        deps.onProgress?.(p);
      },
    });
  } catch (err) {
    error = err;
  } finally {
    await stopHeartbeat();
    reporter.stop();
    for (const w of writers) w.close();
  }
  return finishRun(deps.db, runId, error);
}
