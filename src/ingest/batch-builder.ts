import { createHash } from 'node:crypto';
import { ingestLeaf } from '../integrity/ingest-leaf';
import { encodeCopyRow } from './copy-row';
import { appendRow, emptyBatch, NULL_ROLE, ROLLUP_SEPARATOR, type EventBatch } from './event-batch';
import { eventKey, lineDigest, OccurrenceCounter } from './event-key';
import { RecordSplitter } from './record-splitter';
import { normalizeRecord, settleUnstorable } from './record-normalizer';
import { peekTime, type StoredLines } from './stored-lines';
import { hasInvalidBytes, showInvalidBytes, Utf8Decoder } from './utf8-decoder';

/**
 * The records read for one batch, not parsed yet, in input order (parallel arrays): the stored ones among them can be
 * recognised by their text before any is parsed (src/ingest/stored-lines.ts).
 */
export interface ReadBatch {
  /** Each item's text (a rejected one as it is shown). */
  texts: string[];
  /** The input line each item starts on. */
  lines: number[];
  /** Why an item is rejected already (the splitter or the decoder said so), or null for a record to parse. */
  reasons: (string | null)[];
  /** Each item's second (epoch) as read from its text before parsing, or NaN (rejected, or no time to read). */
  seconds: number[];
  /** Last input line consumed. */
  lastLine: number;
  /** Whether the batch of rows it is built into ends with it (that batch then holds `batchSize` records). */
  endsBatch: boolean;
}

/** Records read before their stored ones are looked up (and they are parsed); see {@link BatchBuilder}. */
const RECORDS_PER_LOOKUP = 1000;

function emptyRead(): ReadBatch {
  return { texts: [], lines: [], reasons: [], seconds: [], lastLine: 0, endsBatch: false };
}

/**
 * Turns the raw bytes of one input (one export window or one file, possibly several entries such as the
 * files of a zip) into batches: first read batches (records split, lines numbered, undecodable ones
 * rejected), then, with what the store already holds of them, batches of COPY rows: rejects bad records with
 * their line, normalises, numbers identical records and keys them. Pure CPU work, no I/O: the pipeline feeds
 * it, looks up the stored records of each read batch, and hands the batches it builds to the writers.
 *
 * Occurrences are numbered across the whole input, and line numbers continue across its entries.
 */
export class BatchBuilder {
  private readonly occurrences = new OccurrenceCounter();
  /** Bad lines seen so far in this input, by hash (they are rare: a map is enough). */
  private readonly rejectOccurrences = new Map<string, number>();
  private readonly full: ReadBatch[] = [];
  private read = emptyRead();
  private splitter: RecordSplitter | null = null;
  private decoder = new Utf8Decoder();
  private lineOffset = 0;
  private lastLine = 0;
  /** The batch the read batches are built into, until it holds `batchSize` records. */
  private batch = emptyBatch();
  /** Records read since the last batch of rows ended (read batches end there too, so batches hold `batchSize`). */
  private sinceBatch = 0;
  /** Records per read batch: a few lookups per batch, so that a record's text waits little before it is parsed. */
  private readonly readSize: number;

  constructor(
    private readonly runId: string,
    private readonly batchSize: number,
    /** Compute each event's leaf hash for the sealer (see ingestLeaf). */
    private readonly leaves = true,
  ) {
    this.readSize = Math.min(batchSize, RECORDS_PER_LOOKUP);
  }

  /** Starts the next entry of the input (line numbers carry on from the previous one). */
  startEntry(): void {
    this.splitter = new RecordSplitter(this.onRecord, this.onReject);
    this.decoder = new Utf8Decoder();
  }

  /** Reads a chunk of the current entry; returns the read batches it completed. */
  feed(chunk: Uint8Array): ReadBatch[] {
    this.current().feed(this.decoder.write(chunk as Buffer));
    return this.full.splice(0);
  }

  /**
   * Ends the current entry; returns the read batches that completed. `cut` says why the input stopped early
   * (a read error): the record it ended inside is then rejected with that reason instead of parsed.
   */
  endEntry(cut?: string): ReadBatch[] {
    const splitter = this.current();
    splitter.feed(this.decoder.end());
    splitter.end(cut);
    this.splitter = null;
    this.lineOffset = this.lastLine;
    return this.full.splice(0);
  }

  /** The last, partial read batch (none when it is empty). */
  finish(): ReadBatch[] {
    if (this.read.texts.length > 0) this.complete();
    return this.full.splice(0);
  }

  /** The last, partial batch of rows, once every read batch is built (none when it is empty). */
  flush(): EventBatch[] {
    if (this.batch.read === 0) return [];
    const done = this.batch;
    this.batch = emptyBatch();
    return [done];
  }

  /**
   * Parses a read batch into the current batch of COPY rows, in input order; returns the batch when it is full.
   * `stored` holds stored events found by the digest of their text (see src/ingest/stored-lines.ts): such a record is
   * counted as a duplicate without being parsed when the occurrence counter gives it the number it is stored under
   * (0); otherwise it is parsed with the number it got.
   */
  build(read: ReadBatch, stored: StoredLines | null): EventBatch[] {
    const batch = this.batch;
    batch.read += read.texts.length;
    batch.lastLine = read.lastLine;
    for (let i = 0; i < read.texts.length; i++) {
      const text = read.texts[i]!;
      const reason = read.reasons[i]!;
      if (reason !== null) {
        this.reject(batch, read.lines[i]!, text, reason);
        continue;
      }
      const digest = lineDigest(text);
      const known = stored?.get(digest);
      let occurrence: number | undefined;
      if (known) {
        occurrence = this.occurrences.next(known.second, known.key);
        if (occurrence === 0) {
          batch.known++;
          if (known.metaMalformed) batch.malformedMeta++;
          continue;
        }
      }
      this.addRecord(batch, text, read.lines[i]!, digest, occurrence);
    }
    if (!read.endsBatch) return [];
    this.batch = emptyBatch(Math.ceil(batch.used * 1.1));
    return [batch];
  }

  private current(): RecordSplitter {
    if (!this.splitter) throw new Error('BatchBuilder: no entry started');
    return this.splitter;
  }

  private complete(): void {
    this.read.lastLine = this.lastLine;
    this.full.push(this.read);
    this.read = emptyRead();
  }

  private take(text: string, lineNumber: number, reason: string | null, time: number): void {
    this.lastLine = Math.max(this.lastLine, lineNumber);
    const read = this.read;
    read.texts.push(text);
    read.lines.push(lineNumber);
    read.reasons.push(reason);
    read.seconds.push(Math.floor(time / 1000));
    if (++this.sinceBatch === this.batchSize) {
      this.sinceBatch = 0;
      read.endsBatch = true;
      this.complete();
    } else if (read.texts.length >= this.readSize) this.complete();
  }

  /** Adds a bad line to the batch with its identity: its text's hash and its place among identical bad lines. */
  private reject(batch: EventBatch, lineNumber: number, text: string, reason: string): void {
    const raw = text.replace(/\0/g, '\\u0000');
    const lineHash = createHash('sha256').update(raw).digest('hex');
    const occurrence = this.rejectOccurrences.get(lineHash) ?? 0;
    this.rejectOccurrences.set(lineHash, occurrence + 1);
    batch.rejected.push({ lineNumber, raw, reason: reason.replace(/\0/g, '\\u0000'), lineHash, occurrence });
  }

  private readonly onReject = (raw: string, localLine: number, reason: string): void => {
    this.take(this.decoder.sawInvalid ? showInvalidBytes(raw) : raw, this.lineOffset + localLine, reason, NaN);
  };

  private readonly onRecord = (text: string, localLine: number): void => {
    const lineNumber = this.lineOffset + localLine;
    if (this.decoder.sawInvalid && hasInvalidBytes(text)) {
      this.take(showInvalidBytes(text), lineNumber, 'not valid UTF-8 (the bad bytes are shown as \\xNN)', NaN);
    } else {
      this.take(text, lineNumber, null, peekTime(text));
    }
  };

  /**
   * Parses one record into the batch. `counted` is its occurrence when the counter has numbered it already (a stored
   * record recognised by its text, whose number was not the stored one's).
   */
  private addRecord(batch: EventBatch, text: string, lineNumber: number, digest: string, counted?: number): void {
    if (text.includes('\0')) {
      this.reject(batch, lineNumber, text, 'contains a NUL character, which PostgreSQL text cannot store');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      this.reject(batch, lineNumber, text, `not valid JSON: ${(err as Error).message}`);
      return;
    }
    const result = normalizeRecord(parsed);
    if (!result.ok) {
      this.reject(batch, lineNumber, text, result.reason);
      return;
    }
    const f = result.fields;
    // NUL and lone surrogates can only come from \u escapes here (the text was decoded from UTF-8).
    if (text.includes('\\u')) {
      const unstorable = settleUnstorable(f);
      if (unstorable) {
        this.reject(batch, lineNumber, text, unstorable);
        return;
      }
    }
    // The occurrence-0 key stands for the exact record in the counter (short, one-to-one with it).
    const firstKey = eventKey(f.canonical, 0);
    const occurrence = counted ?? this.occurrences.next(Math.floor(f.timeMs / 1000), firstKey);
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
      encodeCopyRow(f, key, occurrence, this.runId, leaf, digest),
      key,
      f.time,
      rollupKey,
      addressKey,
      lineNumber,
    );
    if (f.metaMalformed) batch.malformedMeta++;
    const d = new Date(f.timeMs);
    batch.months.add(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  }
}
