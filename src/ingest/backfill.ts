import { DpodExportError, type ExportJob } from '../dpod';
import type { IngestDeps } from './ingest-deps';
import { failAbandonedRuns, type RunSummary } from './ingest-run';
import { ingestPreparedWindow, prepareExport, type TimeWindow, type WindowOptions } from './ingest-window';

/** The Audit Query API's limit on one export. */
export const MAX_WINDOW_DAYS = 31;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Options of {@link backfill}. */
export interface BackfillOptions extends Omit<WindowOptions, 'kind' | 'checkpointName'> {
  /** Days per export window, at most 31 (default 31). */
  windowDays?: number;
  /** Exports requested ahead of the one being stored (default 3). */
  concurrency?: number;
  /** When a window holds more records than this, later windows shrink to aim at it (default 2,000,000). */
  targetRecordsPerWindow?: number;
  /** Checkpoint name (default `backfill:<from>/<to>`): a rerun resumes after the last stored window. */
  checkpointName?: string;
  /** Kind recorded in `ingest_runs` (default `backfill`). */
  kind?: 'backfill' | 'follow';
  /** Start after the checkpoint's position when it lies inside the range (default true). */
  resume?: boolean;
  /** Receives each window's summary as soon as it is done. */
  onRun?: (summary: RunSummary) => void;
}

/** True when the export job itself failed upstream (worth retrying as smaller windows). */
function exportFailed(err: unknown): boolean {
  return err instanceof DpodExportError && err.state === 'FAILED';
}

/**
 * Ingests [from, to) through the Audit Query API in windows of at most 31 days (smaller when windows
 * turn out huge or an export fails), requesting a few exports ahead. Resumes from its checkpoint.
 * Stops at the first window that fails (its summary says why); returns one summary per window.
 */
export async function backfill(
  deps: IngestDeps,
  range: TimeWindow,
  options: BackfillOptions = {},
): Promise<RunSummary[]> {
  if (!(range.from.getTime() < range.to.getTime()))
    throw new Error(`--from must be before --to (got ${range.from.toISOString()} .. ${range.to.toISOString()})`);
  await failAbandonedRuns(deps.db);
  const name = options.checkpointName ?? `backfill:${range.from.toISOString()}/${range.to.toISOString()}`;
  const cp = await deps.db
    .selectFrom('ingest_checkpoints')
    .select('position')
    .where('name', '=', name)
    .executeTakeFirst();
  let cursor =
    options.resume === false
      ? range.from.getTime()
      : Math.max(range.from.getTime(), cp?.position ? cp.position.getTime() : 0);
  let sizeMs = Math.min(MAX_WINDOW_DAYS, Math.max(1 / 24, options.windowDays ?? MAX_WINDOW_DAYS)) * DAY_MS;
  const target = options.targetRecordsPerWindow ?? 2_000_000;
  const ahead = Math.max(1, options.concurrency ?? 3);
  const queue: { window: TimeWindow; job: Promise<ExportJob> }[] = [];
  const summaries: RunSummary[] = [];
  if (cursor > range.from.getTime())
    deps.logger?.info(
      { checkpoint: name, resumeAt: new Date(cursor).toISOString() },
      'backfill resumes from its checkpoint',
    );

  const request = (window: TimeWindow) => {
    const job = prepareExport(deps, window, options);
    job.catch(() => undefined);
    queue.push({ window, job });
  };
  const fill = () => {
    while (queue.length < ahead && cursor < range.to.getTime()) {
      const from = cursor;
      const to = Math.min(range.to.getTime(), from + sizeMs);
      request({ from: new Date(from), to: new Date(to) });
      cursor = to;
    }
  };

  fill();
  while (queue.length > 0) {
    const { window, job } = queue.shift()!;
    let failedUpstream: unknown = null;
    try {
      await job;
    } catch (err) {
      failedUpstream = err;
    }
    const span = window.to.getTime() - window.from.getTime();
    if (failedUpstream && exportFailed(failedUpstream) && span > HOUR_MS) {
      // Too big for one export, perhaps: retry the window as two halves, and shrink what follows.
      const mid = new Date(window.from.getTime() + Math.floor(span / 2 / 1000) * 1000);
      deps.logger?.warn({ window, err: failedUpstream }, 'export failed; retrying the window in two halves');
      sizeMs = Math.max(HOUR_MS, Math.floor(sizeMs / 2));
      // Requests already made for later windows stay; the halves go first.
      const halves = [
        { from: window.from, to: mid },
        { from: mid, to: window.to },
      ].map((w) => {
        const j = prepareExport(deps, w, options);
        j.catch(() => undefined);
        return { window: w, job: j };
      });
      queue.unshift(...halves);
      continue;
    }
    const summary = await ingestPreparedWindow(deps, window, () => job, {
      ...options,
      kind: options.kind ?? 'backfill',
      checkpointName: name,
    });
    summaries.push(summary);
    options.onRun?.(summary);
    if (summary.state === 'failed') break;
    if (summary.read > target) sizeMs = Math.max(HOUR_MS, Math.floor((sizeMs * target) / summary.read));
    if (options.shouldStop?.()) break;
    fill();
  }
  return summaries;
}
