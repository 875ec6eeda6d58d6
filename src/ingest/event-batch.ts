import type { RejectedInput } from './audit-record';

/** Records read since the previous batch, ready for one insert transaction. */
export interface EventBatch {
  /** Number of storable rows. */
  rows: number;
  /** Their COPY text, as buffers (strings are flattened early so the batch stays compact). */
  payload: Buffer[];
  /** COPY text not yet moved into `payload`. */
  pendingText: string;
  /** For each row, its input line (so a row the database refuses can be rejected on its own). */
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

const PAYLOAD_CHUNK_CHARS = 128 * 1024;

/** A new, empty batch. */
export function emptyBatch(): EventBatch {
  return { rows: 0, payload: [], pendingText: '', lineNumbers: [], rejected: [], read: 0, malformedMeta: 0, months: new Set(), bytesRead: 0, lastLine: 0, maxTimeMs: null };
}

/** Appends one COPY line (with its newline) to the batch. */
export function appendCopyLine(batch: EventBatch, line: string): void {
  batch.rows++;
  batch.pendingText += line;
  if (batch.pendingText.length >= PAYLOAD_CHUNK_CHARS) {
    batch.payload.push(Buffer.from(batch.pendingText, 'utf8'));
    batch.pendingText = '';
  }
}

/** The batch's whole COPY payload. */
export function sealedPayload(batch: EventBatch): Buffer[] {
  if (batch.pendingText.length > 0) {
    batch.payload.push(Buffer.from(batch.pendingText, 'utf8'));
    batch.pendingText = '';
  }
  return batch.payload;
}
