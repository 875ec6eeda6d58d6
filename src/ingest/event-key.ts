import crypto from 'node:crypto';

// One-shot hashing (Node >= 20.12) is markedly faster than createHash().update().digest() per record.
const sha256Hex: (data: string) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'hex')
    : (data) => crypto.createHash('sha256').update(data).digest('hex');

/**
 * The deterministic identity of an event: the first 16 bytes of
 * sha256(canonical record JSON + "\n" + occurrence), formatted as a UUID.
 */
export function eventKey(canonical: string, occurrence: number): string {
  return asUuid(sha256Hex(`${canonical}\n${occurrence}`));
}

/**
 * The digest of a record's input text (one line, or one array element, exactly as read): the first 16 bytes of its
 * SHA-256, formatted as a UUID. Stored with the event, it lets a later read recognise the record before parsing it
 * (src/ingest/stored-lines.ts).
 */
export function lineDigest(text: string): string {
  return asUuid(sha256Hex(text));
}

function asUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Options of {@link OccurrenceCounter}. */
export interface OccurrenceCounterOptions {
  /** How far (seconds) behind the latest second seen a record may still arrive and be counted (default 900). */
  marginSeconds?: number;
  /** Entries kept at most; beyond it the oldest seconds are forgotten early (default 200,000). */
  maxEntries?: number;
}

/**
 * Numbers identical records within one stream (an export window or a file): the first copy of a record is
 * occurrence 0, an identical record later in the stream is 1, and so on.
 *
 * Identical records share their time, so counts are kept per second. Exports are time-ordered (DPoD may
 * shuffle records within one second), so seconds more than `marginSeconds` away from both the newest second
 * seen and the second of the record just counted are forgotten: memory stays flat whatever the stream's
 * length, and a stream sorted newest first (or one record far ahead of the rest) is numbered right too.
 * The assumption: identical copies of one record never lie further apart in the stream than that margin.
 */
/** Records between prunes caused by the counted second moving away (each prune passes over every kept second). */
const PRUNE_EVERY = 1024;

export class OccurrenceCounter {
  private readonly buckets = new Map<number, Map<string, number>>();
  private entries = 0;
  private newest = -Infinity;
  private current = -Infinity;
  private lastPrune = -Infinity;
  private lastPruneCurrent = -Infinity;
  /** Records counted since the last prune: a stream jumping between distant seconds prunes at most this often. */
  private sincePrune = 0;
  private readonly margin: number;
  private readonly maxEntries: number;

  constructor(options: OccurrenceCounterOptions = {}) {
    this.margin = options.marginSeconds ?? 900;
    this.maxEntries = options.maxEntries ?? 200_000;
  }

  /**
   * Returns the occurrence number of a record (a record whose time falls in `second`) and counts it.
   * `identity` names the exact record: its canonical JSON, or anything derived from it one-to-one
   * such as its occurrence-0 event key (shorter, so cheaper to hold and look up).
   */
  next(second: number, identity: string): number {
    let bucket = this.buckets.get(second);
    if (!bucket) {
      bucket = new Map();
      this.buckets.set(second, bucket);
    }
    const seen = bucket.get(identity) ?? 0;
    bucket.set(identity, seen + 1);
    if (seen === 0) this.entries++;
    if (second > this.newest) this.newest = second;
    this.current = second;
    this.sincePrune++;
    if (
      this.newest - this.lastPrune >= 60 ||
      (this.sincePrune >= PRUNE_EVERY && Math.abs(second - this.lastPruneCurrent) >= 60) ||
      this.entries > this.maxEntries
    ) {
      this.prune();
    }
    return seen;
  }

  private prune(): void {
    this.sincePrune = 0;
    this.lastPrune = this.newest;
    this.lastPruneCurrent = this.current;
    // Over the entry limit, the kept span narrows (down to the newest and the current second alone).
    for (let margin = this.margin; ; margin = Math.floor(margin / 2)) {
      const limit = this.newest - margin;
      for (const [second, bucket] of this.buckets) {
        if (second < limit && Math.abs(second - this.current) > margin) {
          this.entries -= bucket.size;
          this.buckets.delete(second);
        }
      }
      if (this.entries <= this.maxEntries || margin === 0) return;
    }
  }
}
