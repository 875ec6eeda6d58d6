import { LRUCache } from 'lru-cache';

/** Options of {@link TtlCache}. */
export interface TtlCacheOptions {
  /** Seconds an entry is fresh (DPOD_CACHE_TTL_SECONDS; 0 = always refetch, still coalesced and stale-if-error). */
  ttlSeconds: number;
  /** Seconds a stale entry may still be served when the upstream fails (default 86,400). */
  staleIfErrorSeconds?: number;
  /** Most entries kept; the least recently used are evicted first (default 50,000). */
  maxEntries?: number;
  /** Clock, ms since epoch, for tests (default `Date.now`). */
  now?: () => number;
}

/** Counters of a {@link TtlCache}, for metrics. */
export interface TtlCacheStats {
  hits: number;
  misses: number;
  coalesced: number;
  staleServed: number;
  errors: number;
}

interface Entry {
  value: unknown;
  storedAt: number;
}

type Fetch = () => Promise<unknown>;

/**
 * A process-wide cache beneath the per-request DataLoaders, on `lru-cache`: fresh entries are served for
 * `ttlSeconds`; concurrent misses of one key share one upstream call (its `fetchMethod`); when the upstream fails,
 * a stale entry (younger than `staleIfErrorSeconds`) is served instead of the error. A failure is not remembered
 * here: while DPoD is down, the DPoD client's circuit breaker answers at once and notices when it is back.
 */
export class TtlCache {
  private readonly lru: LRUCache<string, Entry, Fetch>;
  private readonly ttlMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;
  readonly stats: TtlCacheStats = { hits: 0, misses: 0, coalesced: 0, staleServed: 0, errors: 0 };

  constructor(options: TtlCacheOptions) {
    this.ttlMs = options.ttlSeconds * 1000;
    this.staleMs = (options.staleIfErrorSeconds ?? 86_400) * 1000;
    this.now = options.now ?? Date.now;
    const now = this.now;
    this.lru = new LRUCache<string, Entry, Fetch>({
      max: options.maxEntries ?? 50_000,
      // An entry lives about as long as it may be served stale (a refresh restarts lru-cache's clock, so the
      // age that counts is `storedAt`); freshness (ttlSeconds) is checked in get().
      ttl: Math.max(1, this.staleMs),
      perf: { now },
      ttlResolution: 0, // read the clock on every check (an injected test clock jumps)
      noDeleteOnFetchRejection: true, // a failed refresh keeps the stale entry for the next failure
      fetchMethod: async (_key, _stale, { context }) => {
        try {
          return { value: await context(), storedAt: now() };
        } catch (err) {
          this.stats.errors++;
          throw err;
        }
      },
    });
  }

  /** Returns the cached value of `key`, or runs `fetch` (once for all concurrent callers) and caches its result. */
  async get<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    const entry = this.lru.peek(key);
    if (entry && this.now() - entry.storedAt < this.ttlMs) {
      this.stats.hits++;
      return entry.value as T;
    }
    const stale = this.lru.peek(key);
    const status: LRUCache.Status<string, Entry, Fetch> = {};
    const pending = this.lru.fetch(key, { context: fetch, forceRefresh: true, status });
    if (status.fetch === 'inflight') this.stats.coalesced++;
    else this.stats.misses++;
    let result: Entry | undefined;
    try {
      result = await pending;
    } catch (err) {
      if (!stale || this.now() - stale.storedAt >= this.staleMs) throw err;
      this.stats.staleServed++;
      return stale.value as T;
    }
    if (result === undefined) throw new Error(`the live cache's fetch of ${key} was aborted`);
    return result.value as T;
  }

  /** Stores a value fetched elsewhere (e.g. services seen in a list page). */
  set(key: string, value: unknown): void {
    this.lru.set(key, { value, storedAt: this.now() });
  }

  /** Forgets every entry. */
  clear(): void {
    this.lru.clear();
  }

  /** Number of entries held. */
  get size(): number {
    return this.lru.size;
  }
}
