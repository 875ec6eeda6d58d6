import { resolve } from 'node:path';
import type { IngestDeps, IngestOptions } from './ingest-deps';
import { openFileEntries, type ByteCounter } from './input-opener';
import { ingestEntries } from './ingest-pipeline';
import { failAbandonedRuns, type RunSummary } from './ingest-run';
import { recordedRun } from './recorded-run';

/**
 * Imports local export files (gzip, zip or plain; JSON Lines or a JSON array), one run per file.
 * Occurrences are numbered per file, so importing a file already ingested through the API adds nothing.
 * A file that cannot be read fails its run (recorded) and the next file still goes.
 */
export async function importFiles(
  deps: IngestDeps,
  paths: string[],
  options: IngestOptions = {},
): Promise<RunSummary[]> {
  await failAbandonedRuns(deps.db);
  const summaries: RunSummary[] = [];
  for (const given of paths) {
    const path = resolve(given);
    const summary = await recordedRun(
      deps,
      { kind: 'import', source: `file:${path}` },
      { progressBar: options.progressBar, parallelism: options.parallelism },
      async (run) => {
        const counter: ByteCounter = { bytes: 0, total: null };
        await ingestEntries(openFileEntries(path, counter), {
          runId: run.runId,
          source: path,
          writers: await run.openWriters(),
          counter,
          batchSize: options.batchSize,
          leaves: options.leaves,
          lookupStored: options.recognizeStored === false ? undefined : run.lookupStored,
          onLookupFailure: run.onLookupFailure,
          // Imports never resume from a position (a rerun reads the whole file; exactly-once keys drop what is
          // stored), so the checkpoint only records how far the file went, and no position that could run ahead.
          checkpointFor: (batch) => ({
            name: `import:${path}`,
            position: null,
            detail: { path, line: batch.lastLine, bytes: batch.bytesRead },
          }),
          onProgress: run.onProgress,
        });
      },
    );
    deps.logger?.info({ summary }, 'import finished');
    summaries.push(summary);
  }
  return summaries;
}
