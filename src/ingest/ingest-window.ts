import type pg from 'pg';
import type { ExportJob } from '../dpod/types';
import type { IngestDeps, IngestOptions } from './ingest-deps';
import { openStreamEntries, type ByteCounter } from './input-opener';
import { ingestEntries } from './ingest-pipeline';
import { setRunExportJob, type RunSummary } from './ingest-run';
import { recordedRun } from './recorded-run';

/** A time window [from, to). */
export interface TimeWindow {
  from: Date;
  to: Date;
}

/** Options of {@link ingestWindow}. */
export interface WindowOptions extends IngestOptions {
  /** Kind recorded in `ingest_runs` (default `backfill`). */
  kind?: 'backfill' | 'follow';
  /** Checkpoint moved to the window's end once the window is fully stored (default: none). */
  checkpointName?: string;
  /** Poll interval while the export job runs, ms (default 1000). */
  pollIntervalMs?: number;
  /** Give up waiting for the export after this many ms (default 30 minutes). */
  exportTimeoutMs?: number;
  signal?: AbortSignal;
  /** Checked between batches; true stops the window early (it is then re-read by the next run). */
  shouldStop?: () => boolean;
  /** Connection to write on (e.g. one holding the follower's lease); default: a new one from the pool. */
  client?: pg.PoolClient;
}

/** Requests an export of the window and waits for it to be ready. */
export async function prepareExport(
  deps: IngestDeps,
  window: TimeWindow,
  options: WindowOptions = {},
): Promise<ExportJob> {
  if (!deps.dpod)
    throw new Error(
      'no DPoD client configured: set DPOD_API_URL, DPOD_TOKEN_URL, DPOD_CLIENT_ID and DPOD_CLIENT_SECRET',
    );
  const job = await deps.dpod.createExport({ from: window.from, to: window.to });
  return deps.dpod.waitForExport(job.jobId, {
    pollIntervalMs: options.pollIntervalMs,
    timeoutMs: options.exportTimeoutMs,
    signal: options.signal,
  });
}

/** Ingests one window through the Audit Query API: create the export, poll it, download and store it. */
export async function ingestWindow(
  deps: IngestDeps,
  window: TimeWindow,
  options: WindowOptions = {},
): Promise<RunSummary> {
  return ingestPreparedWindow(deps, window, () => prepareExport(deps, window, options), options);
}

/** Like {@link ingestWindow}, with the export job supplied by `job` (so several can be requested ahead). */
export async function ingestPreparedWindow(
  deps: IngestDeps,
  window: TimeWindow,
  job: () => Promise<ExportJob>,
  options: WindowOptions = {},
): Promise<RunSummary> {
  const run = {
    kind: options.kind ?? 'backfill',
    source: 'dpod-api',
    windowFrom: window.from,
    windowTo: window.to,
  } as const;
  const summary = await recordedRun(
    deps,
    run,
    { progressBar: options.progressBar, parallelism: options.parallelism, client: options.client },
    async ({ runId, openWriters, lookupStored, onLookupFailure, onProgress }) => {
      const ready = await job();
      await setRunExportJob(deps.db, runId, ready.jobId);
      const download = await deps.dpod!.downloadExport(ready.location!);
      const writers = await openWriters();
      const counter: ByteCounter = { bytes: 0, total: null };
      const detail = { from: window.from.toISOString(), to: window.to.toISOString(), jobId: ready.jobId };
      const totals = await ingestEntries(openStreamEntries(download, `export ${ready.jobId}`, counter), {
        runId,
        source: `export ${ready.jobId}`,
        writers,
        counter,
        batchSize: options.batchSize,
        lookupStored: options.recognizeStored === false ? undefined : lookupStored,
        onLookupFailure,
        shouldStop: options.shouldStop,
        checkpointFor: options.checkpointName
          ? (b) => ({
              name: options.checkpointName!,
              position: null,
              detail: { ...detail, line: b.lastLine, done: false },
            })
          : undefined,
        onProgress,
      });
      if (!totals.complete)
        throw new Error('interrupted before the end of the window (shutdown); the next run reads it again');
      if (options.checkpointName)
        await writers[0]!.touch({
          name: options.checkpointName,
          position: window.to,
          detail: { ...detail, done: true },
        });
    },
  );
  deps.logger?.info({ summary }, 'window ingested');
  return summary;
}
