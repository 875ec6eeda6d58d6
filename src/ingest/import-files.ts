import { resolve } from 'node:path';
import type { IngestDeps, IngestOptions } from './ingest-deps';
import { openWriters, type EventWriter } from './event-writer';
import { openFileEntries, type ByteCounter } from './input-opener';
import { ingestEntries } from './ingest-pipeline';
import { failAbandonedRuns, finishRun, startRun, type RunSummary } from './ingest-run';
import { createProgressReporter } from './progress-reporter';

/**
 * Imports local export files (gzip, zip or plain; JSON Lines or a JSON array), one run per file.
 * Occurrences are numbered per file, so importing a file already ingested through the API adds nothing.
 * A file that cannot be read fails its run (recorded) and the next file still goes.
 */
export async function importFiles(deps: IngestDeps, paths: string[], options: IngestOptions = {}): Promise<RunSummary[]> {
  await failAbandonedRuns(deps.db);
  const summaries: RunSummary[] = [];
  for (const given of paths) {
    const path = resolve(given);
    const runId = await startRun(deps.db, { kind: 'import', source: `file:${path}` });
    const reporter = createProgressReporter(deps.logger, { tty: options.progressBar });
    let error: unknown = null;
    let writers: EventWriter[] = [];
    try {
      writers = await openWriters(deps.db, deps.pool, runId, { parallelism: options.parallelism });
      const counter: ByteCounter = { bytes: 0, total: null };
      await ingestEntries(openFileEntries(path, counter), {
        runId,
        source: path,
        writers,
        counter,
        batchSize: options.batchSize,
        checkpointFor: (batch) => ({ name: `import:${path}`, position: batch.maxTimeMs === null ? null : new Date(batch.maxTimeMs), detail: { path, line: batch.lastLine, bytes: batch.bytesRead } }),
        onProgress: (p) => {
          reporter.update(p);
          deps.onProgress?.(p);
        },
      });
    } catch (err) {
      error = err;
    } finally {
      reporter.stop();
      for (const w of writers) w.close();
    }
    const summary = await finishRun(deps.db, runId, error);
    deps.logger?.info({ summary }, 'import finished');
    summaries.push(summary);
  }
  return summaries;
}
