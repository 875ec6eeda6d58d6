import type { RejectedInput } from './audit-record';

/** Records read since the previous batch, ready for one insert transaction. */
export interface EventBatch {
  /** COPY lines of the storable records. */
  rows: string[];
  /** For each row: where it came from (so a row the database refuses can be rejected on its own). */
  origins: { lineNumber: number; raw: string }[];
  rejected: RejectedInput[];
  /** Records read (rows + rejected). */
  read: number;
  malformedMeta: number;
  /** First instant of each month the rows fall in (epoch ms). */
  months: Set<number>;
  /** Raw input bytes consumed so far in the run (cumulative). */
  bytesRead: number;
  /** Last input line consumed. */
  lastLine: number;
  /** Latest event time in the batch (epoch ms), or null. */
  maxTimeMs: number | null;
}

/** A new, empty batch. */
export function emptyBatch(): EventBatch {
  return { rows: [], origins: [], rejected: [], read: 0, malformedMeta: 0, months: new Set(), bytesRead: 0, lastLine: 0, maxTimeMs: null };
}

/** Splits a batch's rows in two halves; the second keeps the rejects and counters so totals stay right. */
export function splitBatch(batch: EventBatch): [EventBatch, EventBatch] {
  const half = Math.ceil(batch.rows.length / 2);
  const first: EventBatch = { ...emptyBatch(), rows: batch.rows.slice(0, half), origins: batch.origins.slice(0, half), months: batch.months, bytesRead: batch.bytesRead, lastLine: batch.lastLine };
  const second: EventBatch = { ...batch, rows: batch.rows.slice(half), origins: batch.origins.slice(half) };
  return [first, second];
}
