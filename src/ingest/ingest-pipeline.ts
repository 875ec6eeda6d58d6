import { BatchBuilder, type ReadBatch } from './batch-builder';
import type { EventBatch } from './event-batch';
import type { BatchOutcome, CheckpointUpdate, EventWriter } from './event-writer';
import type { ByteCounter, InputEntry } from './input-opener';
import type { IngestProgress } from './progress-reporter';
import { StoredRecordFinder, type StoredLineLookup, type StoredLines } from './stored-lines';

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Default rows per insert transaction. */
export const DEFAULT_BATCH_SIZE = 5_000;

/** Options of {@link ingestEntries}. */
export interface PipelineOptions {
  runId: string;
  source: string;
  /** Writers (one connection each); with several, that many batches are written at once. */
  writers: EventWriter[];
  counter: ByteCounter;
  /** Rows per transaction (default {@link DEFAULT_BATCH_SIZE}). */
  batchSize?: number;
  /** Store each event's leaf hash for the sealer (default true). */
  leaves?: boolean;
  /**
   * Finds the stored records of a batch's seconds by the digest of their text, so that those are counted as
   * duplicates without being parsed (src/ingest/stored-lines.ts). Without it every record is parsed.
   */
  lookupStored?: StoredLineLookup;
  /** Told once when a lookup fails (every record is then parsed for the rest of the run; nothing else changes). */
  onLookupFailure?: (err: unknown) => void;
  /** Checkpoint to save with each batch. */
  checkpointFor?: (batch: EventBatch) => CheckpointUpdate | undefined;
  onProgress?: (p: IngestProgress) => void;
  /** Checked between batches: when it returns true the pipeline stops after the current batch. */
  shouldStop?: () => boolean;
}

/** Totals of a pipeline; `complete` is false when it stopped early on request. */
export type PipelineTotals = BatchOutcome & { complete?: boolean };

/**
 * Reads export text streams (one window or one file: occurrences are numbered across all of them),
 * normalises each record and writes batches through the writers. Parsing the next batch overlaps with
 * the writers committing earlier ones; parsing waits when every writer is busy, so memory stays flat.
 *
 * Parsing on a worker thread was tried and measured no faster on a 2-core machine: the parser, the main
 * thread and PostgreSQL's backends then compete for the same cores, and the work only moves around.
 */
export async function ingestEntries(
  entries: AsyncIterable<InputEntry>,
  options: PipelineOptions,
): Promise<PipelineTotals> {
  const parser = new BatchBuilder(options.runId, options.batchSize ?? DEFAULT_BATCH_SIZE, options.leaves ?? true);
  const totals: PipelineTotals = { read: 0, inserted: 0, duplicates: 0, recognized: 0, rejected: 0, malformedMeta: 0 };
  // Batches being written, oldest first; batch n goes to writer n % writers.length.
  const pending: Promise<void>[] = [];
  let sequence = 0;
  let stopped = false;

  const progress = (): void => {
    options.onProgress?.({
      runId: options.runId,
      source: options.source,
      bytes: options.counter.bytes,
      totalBytes: options.counter.total,
      records: totals.read,
      inserted: totals.inserted,
      duplicates: totals.duplicates,
      rejected: totals.rejected,
    });
  };

  /** What the store holds of a read batch's records, by the digest of their text (null: nothing to look up). */
  const finder = options.lookupStored && new StoredRecordFinder(options.lookupStored, options.onLookupFailure);
  const storedOf = async (read: ReadBatch): Promise<StoredLines | null> =>
    finder ? finder.find(read.seconds, read.texts.length) : null;

  /**
   * Hands complete batches to the writers, waiting while every writer is busy; false once asked to stop.
   * The input's final batches are all handed over: a stop asked for then leaves nothing unread.
   */
  const submit = async (batches: EventBatch[], final = false): Promise<boolean> => {
    for (const batch of batches) {
      if (stopped) return false;
      while (pending.length >= options.writers.length) await pending.shift();
      batch.bytesRead = options.counter.bytes;
      const writer = options.writers[sequence++ % options.writers.length]!;
      const p = writer.write(batch, options.checkpointFor?.(batch)).then((outcome) => {
        totals.read += outcome.read;
        totals.inserted += outcome.inserted;
        totals.duplicates += outcome.duplicates;
        totals.recognized += outcome.recognized;
        totals.rejected += outcome.rejected;
        totals.malformedMeta += outcome.malformedMeta;
        progress();
      });
      p.catch(() => undefined);
      pending.push(p);
      if (!final && options.shouldStop?.()) stopped = true;
    }
    return !stopped;
  };

  /** Builds read batches (their stored records looked up first) and submits the batches they complete. */
  const build = async (reads: ReadBatch[], final = false): Promise<boolean> => {
    for (const read of reads) {
      if (stopped) return false;
      if (!(await submit(parser.build(read, await storedOf(read)), final))) return false;
    }
    return !stopped;
  };

  // Errors reading the input (a cut gzip, a broken download) are told apart from errors writing it.
  let readError = null as { where: string; err: unknown } | null;
  /** The next item of the input, or null when reading it failed (the error is kept in `readError`). */
  const read = async <T>(iterator: AsyncIterator<T>, where: string): Promise<IteratorResult<T> | null> => {
    try {
      return await iterator.next();
    } catch (err) {
      readError = { where, err };
      return null;
    }
  };
  const entryIterator = entries[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await read(entryIterator, options.source);
      if (!next || next.done) break;
      const entry = next.value;
      parser.startEntry();
      const chunks = (entry.stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      for (;;) {
        const chunk = await read(chunks, entry.name);
        if (!chunk || chunk.done) break;
        if (!(await build(parser.feed(chunk.value)))) break;
      }
      if (stopped || readError) entry.stream.destroy();
      if (stopped) break;
      if (readError) {
        // What was read before the error is stored; the record the input broke off inside is rejected.
        await build(parser.endEntry(errorText(readError.err)), true);
        break;
      }
      if (!(await build(parser.endEntry()))) break;
    }
    if (!stopped && (await build(parser.finish(), true))) await submit(parser.flush(), true);
    while (pending.length > 0) await pending.shift();
    progress();
    if (readError) {
      throw new Error(
        `${readError.where}: could not read on: ${errorText(readError.err)} (the input is damaged or cut short; the records before this point were stored, a complete copy can be read again)`,
      );
    }
    return { ...totals, complete: !stopped };
  } finally {
    await Promise.allSettled(pending);
    // Left early (a stop, an error): let the entries close their files and temporary copies.
    await entryIterator.return?.(undefined).catch(() => undefined);
  }
}
