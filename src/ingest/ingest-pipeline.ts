import { StringDecoder } from 'node:string_decoder';
import { encodeCopyRow } from './copy-row';
import { appendRow, emptyBatch, NULL_ROLE, rowCount, ROLLUP_SEPARATOR, type EventBatch } from './event-batch';
import { eventKey, OccurrenceCounter } from './event-key';
import type { BatchOutcome, CheckpointUpdate, EventWriter } from './event-writer';
import type { ByteCounter, InputEntry } from './input-opener';
import type { IngestProgress } from './progress-reporter';
import { RecordSplitter } from './record-splitter';
import { normalizeRecord } from './record-normalizer';

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
 * normalises each record and writes batches through the writer. Parsing the next batch overlaps
 * with the database writing the previous one; at most one batch waits, so memory stays flat.
 */
export async function ingestEntries(entries: AsyncIterable<InputEntry>, options: PipelineOptions): Promise<PipelineTotals> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const occurrences = new OccurrenceCounter();
  const totals: PipelineTotals = { read: 0, inserted: 0, duplicates: 0, rejected: 0, malformedMeta: 0 };
  let batch = emptyBatch();
  // Batches being written, oldest first; batch n goes to writer n % writers.length.
  const pending: Promise<void>[] = [];
  let sequence = 0;
  let lineOffset = 0;
  let lastLine = 0;

  const progress = (): void => {
    options.onProgress?.({
      runId: options.runId,
      source: options.source,
      bytes: options.counter.bytes,
      totalBytes: options.counter.total,
      records: totals.read + batch.read,
      inserted: totals.inserted,
      duplicates: totals.duplicates,
      rejected: totals.rejected,
    });
  };

  const submit = async (): Promise<void> => {
    while (pending.length >= options.writers.length) await pending.shift();
    if (batch.read === 0) return;
    const current = batch;
    current.bytesRead = options.counter.bytes;
    current.lastLine = lastLine;
    batch = emptyBatch(Math.ceil(current.used * 1.1));
    const writer = options.writers[sequence++ % options.writers.length]!;
    const p = writer.write(current, options.checkpointFor?.(current)).then((outcome) => {
      totals.read += outcome.read;
      totals.inserted += outcome.inserted;
      totals.duplicates += outcome.duplicates;
      totals.rejected += outcome.rejected;
      totals.malformedMeta += outcome.malformedMeta;
      progress();
    });
    p.catch(() => undefined);
    pending.push(p);
  };

  const onRecord = (text: string, localLine: number): void => {
    const lineNumber = lineOffset + localLine;
    lastLine = lineNumber;
    batch.read++;
    if (text.includes('\\u0000') || text.includes('\0')) {
      batch.rejected.push({ lineNumber, raw: text, reason: 'contains a NUL character, which PostgreSQL text cannot store' });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      batch.rejected.push({ lineNumber, raw: text, reason: `not valid JSON: ${(err as Error).message}` });
      return;
    }
    const result = normalizeRecord(parsed);
    if (!result.ok) {
      batch.rejected.push({ lineNumber, raw: text, reason: result.reason });
      return;
    }
    const f = result.fields;
    // The occurrence-0 key stands for the exact record in the counter (short, one-to-one with it).
    const firstKey = eventKey(f.canonical, 0);
    const occurrence = occurrences.next(Math.floor(f.timeMs / 1000), firstKey);
    const key = occurrence === 0 ? firstKey : eventKey(f.canonical, occurrence);
    const rollupKey =
      `${f.time.slice(0, 13)}:00:00.000Z${ROLLUP_SEPARATOR}${f.serviceId}${ROLLUP_SEPARATOR}${f.clientId}${ROLLUP_SEPARATOR}` +
      `${f.action}${ROLLUP_SEPARATOR}${f.status}${ROLLUP_SEPARATOR}${f.role ?? NULL_ROLE}`;
    appendRow(batch, encodeCopyRow(f, key, occurrence, options.runId), key, f.time, rollupKey, lineNumber);
    if (f.metaMalformed) batch.malformedMeta++;
    const d = new Date(f.timeMs);
    batch.months.add(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
    if (batch.maxTimeMs === null || f.timeMs > batch.maxTimeMs) batch.maxTimeMs = f.timeMs;
  };
  const onReject = (raw: string, localLine: number, reason: string): void => {
    const lineNumber = lineOffset + localLine;
    lastLine = Math.max(lastLine, lineNumber);
    batch.read++;
    batch.rejected.push({ lineNumber, raw, reason });
  };

  let stopped = false;
  try {
    for await (const entry of entries) {
      const splitter = new RecordSplitter(onRecord, onReject);
      const decoder = new StringDecoder('utf8');
      for await (const chunk of entry.stream as AsyncIterable<Buffer>) {
        splitter.feed(decoder.write(chunk));
        if (rowCount(batch) + batch.rejected.length >= batchSize) {
          await submit();
          if (options.shouldStop?.()) {
            stopped = true;
            break;
          }
        }
      }
      if (stopped) {
        entry.stream.destroy();
        break;
      }
      splitter.feed(decoder.end());
      splitter.end();
      // Line numbers continue across the entries of one input (e.g. several files in one zip).
      lineOffset = lastLine;
    }
    if (!stopped) await submit();
    while (pending.length > 0) await pending.shift();
    progress();
    return { ...totals, complete: !stopped };
  } finally {
    await Promise.allSettled(pending);
  }
}
