import { createHash } from 'node:crypto';
import { ingestLeaf } from '../integrity/ingest-leaf';
import { encodeCopyRow } from './copy-row';
import { appendRow, emptyBatch, NULL_ROLE, ROLLUP_SEPARATOR, type EventBatch } from './event-batch';
import { eventKey, OccurrenceCounter } from './event-key';
import { RecordSplitter } from './record-splitter';
import { normalizeRecord, settleUnstorable } from './record-normalizer';
import { hasInvalidBytes, showInvalidBytes, Utf8Decoder } from './utf8-decoder';

/**
 * Turns the raw bytes of one input (one export window or one file, possibly several entries such as the
 * files of a zip) into full batches of COPY rows: splits records, rejects bad ones with their line,
 * normalises, numbers identical records and keys them. Pure CPU work, no I/O: the pipeline feeds it and
 * hands the batches it completes to the writers.
 *
 * Occurrences are numbered across the whole input, and line numbers continue across its entries.
 */
export class BatchBuilder {
  private readonly occurrences = new OccurrenceCounter();
  /** Bad lines seen so far in this input, by hash (they are rare: a map is enough). */
  private readonly rejectOccurrences = new Map<string, number>();
  private readonly full: EventBatch[] = [];
  private batch = emptyBatch();
  private splitter: RecordSplitter | null = null;
  private decoder = new Utf8Decoder();
  private lineOffset = 0;
  private lastLine = 0;

  constructor(
    private readonly runId: string,
    private readonly batchSize: number,
    /** Compute each event's leaf hash for the sealer (see ingestLeaf). */
    private readonly leaves = true,
  ) {}

  /** Starts the next entry of the input (line numbers carry on from the previous one). */
  startEntry(): void {
    this.splitter = new RecordSplitter(this.onRecord, this.onReject);
    this.decoder = new Utf8Decoder();
  }

  /** Reads a chunk of the current entry; returns the batches it completed. */
  feed(chunk: Uint8Array): EventBatch[] {
    this.current().feed(this.decoder.write(chunk as Buffer));
    return this.full.splice(0);
  }

  /**
   * Ends the current entry; returns the batches that completed. `cut` says why the input stopped early
   * (a read error): the record it ended inside is then rejected with that reason instead of parsed.
   */
  endEntry(cut?: string): EventBatch[] {
    const splitter = this.current();
    splitter.feed(this.decoder.end());
    splitter.end(cut);
    this.splitter = null;
    this.lineOffset = this.lastLine;
    return this.full.splice(0);
  }

  /** The last, partial batch (none when it is empty). */
  finish(): EventBatch[] {
    if (this.batch.read > 0) this.complete();
    return this.full.splice(0);
  }

  private current(): RecordSplitter {
    if (!this.splitter) throw new Error('BatchBuilder: no entry started');
    return this.splitter;
  }

  private complete(): void {
    const done = this.batch;
    done.lastLine = this.lastLine;
    this.full.push(done);
    this.batch = emptyBatch(Math.ceil(done.used * 1.1));
  }

  private countRead(lineNumber: number): void {
    this.lastLine = Math.max(this.lastLine, lineNumber);
    this.batch.read++;
  }

  /** Adds a bad line to the batch with its identity: its text's hash and its place among identical bad lines. */
  private reject(lineNumber: number, text: string, reason: string): void {
    const raw = text.replace(/\0/g, '\\u0000');
    const lineHash = createHash('sha256').update(raw).digest('hex');
    const occurrence = this.rejectOccurrences.get(lineHash) ?? 0;
    this.rejectOccurrences.set(lineHash, occurrence + 1);
    this.batch.rejected.push({ lineNumber, raw, reason: reason.replace(/\0/g, '\\u0000'), lineHash, occurrence });
  }

  private readonly onReject = (raw: string, localLine: number, reason: string): void => {
    const lineNumber = this.lineOffset + localLine;
    this.countRead(lineNumber);
    this.reject(lineNumber, this.decoder.sawInvalid ? showInvalidBytes(raw) : raw, reason);
    if (this.batch.read >= this.batchSize) this.complete();
  };

  private readonly onRecord = (text: string, localLine: number): void => {
    const lineNumber = this.lineOffset + localLine;
    this.countRead(lineNumber);
    this.addRecord(text, lineNumber);
    if (this.batch.read >= this.batchSize) this.complete();
  };

  private addRecord(text: string, lineNumber: number): void {
    const batch = this.batch;
    if (this.decoder.sawInvalid && hasInvalidBytes(text)) {
      this.reject(lineNumber, showInvalidBytes(text), 'not valid UTF-8 (the bad bytes are shown as \\xNN)');
      return;
    }
    if (text.includes('\0')) {
      this.reject(lineNumber, text, 'contains a NUL character, which PostgreSQL text cannot store');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      this.reject(lineNumber, text, `not valid JSON: ${(err as Error).message}`);
      return;
    }
    const result = normalizeRecord(parsed);
    if (!result.ok) {
      this.reject(lineNumber, text, result.reason);
      return;
    }
    const f = result.fields;
    // NUL and lone surrogates can only come from \u escapes here (the text was decoded from UTF-8).
    if (text.includes('\\u')) {
      const unstorable = settleUnstorable(f);
      if (unstorable) {
        this.reject(lineNumber, text, unstorable);
        return;
      }
    }
    // The occurrence-0 key stands for the exact record in the counter (short, one-to-one with it).
    const firstKey = eventKey(f.canonical, 0);
    const occurrence = this.occurrences.next(Math.floor(f.timeMs / 1000), firstKey);
    const key = occurrence === 0 ? firstKey : eventKey(f.canonical, occurrence);
    const rollupKey =
      `${f.time.slice(0, 13)}:00:00.000Z${ROLLUP_SEPARATOR}${f.serviceId}${ROLLUP_SEPARATOR}${f.clientId}${ROLLUP_SEPARATOR}` +
      `${f.action}${ROLLUP_SEPARATOR}${f.status}${ROLLUP_SEPARATOR}${f.role ?? NULL_ROLE}`;
    const addressKey =
      f.clientIp === null
        ? null
        : `${f.time.slice(0, 10)}${ROLLUP_SEPARATOR}${f.serviceId}${ROLLUP_SEPARATOR}${f.clientId}${ROLLUP_SEPARATOR}${f.clientIp}`;
    const leaf = this.leaves ? ingestLeaf(f, key, occurrence) : null;
    appendRow(
      batch,
      encodeCopyRow(f, key, occurrence, this.runId, leaf),
      key,
      f.time,
      rollupKey,
      addressKey,
      lineNumber,
    );
    if (f.metaMalformed) batch.malformedMeta++;
    const d = new Date(f.timeMs);
    batch.months.add(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
    if (batch.maxTimeMs === null || f.timeMs > batch.maxTimeMs) batch.maxTimeMs = f.timeMs;
  }
}
