import type pg from 'pg';
import { parseAuditTime } from './audit-time';

/**
 * Recognising stored records before parsing them: the duplicate path of a re-read.
 *
 * The follower re-reads its overlap (15 minutes) at every pass, and a re-import or an overlapping window reads
 * records that are almost all stored. Parsing, normalising and keying a record costs ~20 µs; hashing its text ~0.5 µs.
 * So each event keeps the digest of the text it was read from (`audit_events.line_digest`), and before a batch is
 * parsed the stored digests of the seconds its records name are read in one query. A record whose text is stored is
 * a duplicate without being parsed, with one condition that keeps the result exactly what parsing would give:
 * identical records within a second are numbered (OccurrenceCounter), and a recognised record must still take its
 * number in that count. Only stored rows of occurrence 0 are offered (their event key is the counter's identity of
 * the record), and a recognised record is taken as stored only when the counter gives it 0; otherwise it is parsed
 * with the number it got. See docs/ingest.md#recognising-stored-records.
 *
 * The lookup is only a shortcut: whatever it misses is parsed, so its cost is bounded rather than its reach (a few
 * rows read per record, at most 32 ranges of seconds, fewer lookups while they find nothing), and a lookup that fails
 * turns the shortcut off for the rest of the run instead of failing it.
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

/** Epoch seconds `[from, to)`: the stored events whose time falls in them are looked up. */
export interface SecondRange {
  from: number;
  to: number;
}

/**
 * Reads stored events of occurrence 0 with a digest whose time falls in `ranges`, reading `limit` stored rows at
 * most (other rows of those seconds count too: the bound is on the work, not on what is found).
 */
export type StoredLineLookup = (ranges: SecondRange[], limit: number) => Promise<StoredLines>;

// One row back: the digests, keys, seconds and meta flags as one text (far cheaper to receive than rows). Each range
// is its own branch, read through the (time, event_key) index of the one partition it falls in (a join of the
// ranges as an array was planned as a scan of the whole table). The limit applies to the rows read, before the filter,
// so seconds full of events stored before the digest existed (null) or of other services cost at most `limit` rows.
function storedLinesQuery(ranges: number): string {
  const branches = Array.from(
    { length: ranges },
    (_, i) =>
      `(select line_digest, event_key, time, meta_malformed, occurrence from audit_events
         where time >= $${2 * i + 2} and time < $${2 * i + 3})`,
  );
  return `
  select string_agg(concat(line_digest, ' ', event_key, ' ', floor(extract(epoch from time))::bigint, ' ',
                           case when meta_malformed then 't' else 'f' end), ',') as lines
    from (select * from (${branches.join(' union all ')}) r limit $1) s
   where occurrence = 0 and line_digest is not null`;
}

/** A {@link StoredLineLookup} on `pool` (one short query per batch). */
export function storedLineLookup(pool: pg.Pool): StoredLineLookup {
  const queries: string[] = [];
  return async (ranges, limit) => {
    const found: StoredLines = new Map();
    if (ranges.length === 0) return found;
    const iso = (second: number) => new Date(second * 1000).toISOString();
    const query = (queries[ranges.length] ??= storedLinesQuery(ranges.length));
    const { rows } = await pool.query<{ lines: string | null }>(query, [
      limit,
      ...ranges.flatMap((r) => [iso(r.from), iso(r.to)]),
    ]);
    const text = rows[0]?.lines;
    if (!text) return found;
    for (const entry of text.split(',')) {
      const [digest, key, second, malformed] = entry.split(' ') as [string, string, string, string];
      found.set(digest, { key, second: Number(second), metaMalformed: malformed === 't' });
    }
    return found;
  };
}

/** Ranges one lookup reads at most (records far apart in time share wider ranges beyond it). */
export const MAX_LOOKUP_RANGES = 32;

/**
 * The ranges that cover `seconds` (any order, repeats allowed; NaN ignored): runs of consecutive seconds, and when
 * they are more than {@link MAX_LOOKUP_RANGES}, runs joined across all but the widest gaps between them (the fewest
 * seconds covered for that many ranges).
 */
export function lookupRanges(seconds: ArrayLike<number>): SecondRange[] {
  const sorted = Float64Array.from(seconds)
    .filter((s) => !Number.isNaN(s))
    .sort();
  const runs: SecondRange[] = [];
  for (const s of sorted) {
    const last = runs[runs.length - 1];
    if (last && s <= last.to) last.to = s + 1;
    else runs.push({ from: s, to: s + 1 });
  }
  if (runs.length <= MAX_LOOKUP_RANGES) return runs;
  // Split after the runs followed by the widest gaps; join the rest.
  const gaps = runs.slice(0, -1).map((r, i) => ({ after: i, width: runs[i + 1]!.from - r.to }));
  gaps.sort((x, y) => y.width - x.width || x.after - y.after);
  const splits = new Set(gaps.slice(0, MAX_LOOKUP_RANGES - 1).map((g) => g.after));
  const ranges: SecondRange[] = [];
  let current = { ...runs[0]! };
  for (let i = 1; i < runs.length; i++) {
    if (splits.has(i - 1)) {
      ranges.push(current);
      current = { ...runs[i]! };
    } else current.to = runs[i]!.to;
  }
  ranges.push(current);
  return ranges;
}

/** Lookups skipped at most after lookups that found nothing (see {@link StoredRecordFinder}). */
const MAX_SKIPPED_LOOKUPS = 16;

/**
 * Decides, batch by batch, whether to look up the stored records and how. A lookup that finds nothing stored in its
 * seconds (a first import, or events stored before the digest existed) makes the next ones rarer: 1, 2, 4, 8, then
 * 16 batches are parsed without one, until a lookup finds something again. A new stretch of stored records is then
 * recognised at most 16 batches late (parsed meanwhile: the same result, only slower). A lookup that fails (the
 * store is busy or unreachable: the writers will say so) is reported once and not tried again in this run.
 */
export class StoredRecordFinder {
  private skip = 0;
  private idle = 0;
  private failed = false;

  constructor(
    private readonly lookup: StoredLineLookup,
    private readonly onFailure?: (err: unknown) => void,
  ) {}

  /** The stored records among a batch's records, given the seconds read from their texts; null: none looked up. */
  async find(seconds: ArrayLike<number>, records: number): Promise<StoredLines | null> {
    if (this.failed) return null;
    if (this.skip > 0) {
      this.skip--;
      return null;
    }
    const ranges = lookupRanges(seconds);
    if (ranges.length === 0) return null;
    let found: StoredLines;
    try {
      // A few stored rows read per record, at most: other services' events may share the seconds.
      found = await this.lookup(ranges, 4 * records + 1000);
    } catch (err) {
      this.failed = true;
      this.onFailure?.(err);
      return null;
    }
    if (found.size === 0) {
      this.idle = Math.min(this.idle === 0 ? 1 : this.idle * 2, MAX_SKIPPED_LOOKUPS);
      this.skip = this.idle;
    } else this.idle = 0;
    return found;
  }
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
