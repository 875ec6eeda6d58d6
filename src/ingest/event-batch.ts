import type { RejectedInput } from './audit-record';

/** Records read since the previous batch, ready for one insert transaction. Row arrays are parallel. */
export interface EventBatch {
  /** COPY text line of each storable row (a Buffer: flat and compact, unlike a concatenated string). */
  lines: Buffer[];
  /** Event key of each row. */
  keys: string[];
  /** Event time of each row (ISO-8601). */
  times: string[];
  /** Rollup key of each row: hour, service, client, action, status, role joined by {@link ROLLUP_SEPARATOR}. */
  rollups: string[];
  /** Input line of each row (so a row the database refuses can be rejected on its own). */
  lineNumbers: number[];
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

/** Separates the parts of a rollup key (a character audit fields do not contain). */
export const ROLLUP_SEPARATOR = '\u0001';
/** Stands for a null role inside a rollup key. */
export const NULL_ROLE = '\u0002';

/** A new, empty batch. */
export function emptyBatch(): EventBatch {
  return { lines: [], keys: [], times: [], rollups: [], lineNumbers: [], rejected: [], read: 0, malformedMeta: 0, months: new Set(), bytesRead: 0, lastLine: 0, maxTimeMs: null };
}

/** The rows at `indexes` of a batch, as a batch without rejects or counters. */
export function pickRows(batch: EventBatch, indexes: number[]): EventBatch {
  const out = { ...emptyBatch(), months: batch.months, bytesRead: batch.bytesRead, lastLine: batch.lastLine, maxTimeMs: batch.maxTimeMs };
  for (const i of indexes) {
    out.lines.push(batch.lines[i]!);
    out.keys.push(batch.keys[i]!);
    out.times.push(batch.times[i]!);
    out.rollups.push(batch.rollups[i]!);
    out.lineNumbers.push(batch.lineNumbers[i]!);
  }
  return out;
}
