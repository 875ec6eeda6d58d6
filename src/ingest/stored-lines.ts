import type pg from 'pg';
import { parseAuditTime } from './audit-time';

/**
 * Recognising stored records before parsing them: the duplicate path of a re-read.
 *
 * The follower re-reads its overlap (15 minutes) at every pass, and a re-import or an overlapping window reads
 * records that are almost all stored. Parsing, normalising and keying a record costs ~20 µs; hashing its text ~0.5 µs.
 * So each event keeps the digest of the text it was read from (`audit_events.line_digest`), and before a batch is
 * parsed the stored digests of its time range are read in one query. A record whose text is stored is a duplicate
 * without being parsed, with one condition that keeps the result exactly what parsing would give: identical records
 * within a second are numbered (OccurrenceCounter), and a recognised record must still take its number in that count.
 * Only stored rows of occurrence 0 are offered (their event key is the counter's identity of the record), and a
 * recognised record is taken as stored only when the counter gives it 0; otherwise it is parsed with the number it got.
 * See docs/ingest.md#recognising-stored-records.
 */

/** A stored event found by the digest of its input text. */
export interface StoredLine {
  /** Its event key (of occurrence 0: the counter's identity of the record). */
  key: string;
  /** The second (epoch) its time falls in. */
  second: number;
  metaMalformed: boolean;
}

/** Stored events by the digest of their input text. */
export type StoredLines = Map<string, StoredLine>;

/** Reads the stored events of occurrence 0 with a digest whose time is within [fromMs, toMs], `limit` at most. */
export type StoredLineLookup = (fromMs: number, toMs: number, limit: number) => Promise<StoredLines>;

// One row back: the digests, keys, seconds and meta flags as one text (far cheaper to receive than rows). Read through
// the (time, event_key) index; the partitions outside the range are pruned.
const STORED_LINES = `
  select string_agg(concat(line_digest, ' ', event_key, ' ', floor(extract(epoch from time))::bigint, ' ',
                           case when meta_malformed then 't' else 'f' end), ',') as lines
    from (select line_digest, event_key, time, meta_malformed
            from audit_events
           where time >= $1 and time <= $2 and occurrence = 0 and line_digest is not null
           limit $3) s`;

/** A {@link StoredLineLookup} on `pool` (one short query per batch). */
export function storedLineLookup(pool: pg.Pool): StoredLineLookup {
  return async (fromMs, toMs, limit) => {
    const { rows } = await pool.query<{ lines: string | null }>(STORED_LINES, [
      new Date(fromMs).toISOString(),
      new Date(toMs).toISOString(),
      limit,
    ]);
    const found: StoredLines = new Map();
    const text = rows[0]?.lines;
    if (!text) return found;
    for (const entry of text.split(',')) {
      const [digest, key, second, malformed] = entry.split(' ') as [string, string, string, string];
      found.set(digest, { key, second: Number(second), metaMalformed: malformed === 't' });
    }
    return found;
  };
}

// The record's time as it is written, read without parsing the record (keys are matched case-insensitively, as the
// normaliser does). Only the lookup's range comes from it: a wrong or missing match costs a miss, never a wrong answer,
// since a recognised record's second is the stored one's.
const TIME_FIELD = /"time"\s*:\s*"([^"\\]*)"/i;

/** Epoch ms of a record's `time` read from its text without parsing it, or NaN. */
export function peekTime(text: string): number {
  const m = TIME_FIELD.exec(text);
  return m ? parseAuditTime(m[1]!) : NaN;
}
