/** Options of {@link TtlCache}. */
export interface TtlCacheOptions {
  /** Seconds an entry is fresh (DPOD_CACHE_TTL_SECONDS; 0 = always refetch, still coalesced and stale-if-error). */
  ttlSeconds: number;
  /** Seconds a stale entry may still be served when the upstream fails (default 86,400). */
  staleIfErrorSeconds?: number;
  /** Most entries kept; the oldest are evicted first (default 50,000). */
  maxEntries?: number;
  /** Clock, for tests (default `Date.now`). */
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

/**
 * A process-wide cache beneath the per-request DataLoaders: fresh entries are served for `ttlSeconds`;
 * concurrent misses of one key share one upstream call; when the upstream fails, a stale entry
 * (younger than `staleIfErrorSeconds`) is served instead of the error.
 */
export class TtlCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly ttlMs: number;
  private readonly staleMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  readonly stats: TtlCacheStats = { hits: 0, misses: 0, coalesced: 0, staleServed: 0, errors: 0 };

  constructor(options: TtlCacheOptions) {
    this.ttlMs = options.ttlSeconds * 1000;
    this.staleMs = (options.staleIfErrorSeconds ?? 86_400) * 1000;
    this.maxEntries = options.maxEntries ?? 50_000;
    this.now = options.now ?? Date.now;
  }

  /** Returns the cached value of `key`, or runs `fetch` (once for all concurrent callers) and caches its result. */
  async get<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.storedAt < this.ttlMs) {
      this.stats.hits++;
      return entry.value as T;
    }
    const pending = this.inFlight.get(key);
    if (pending) {
      this.stats.coalesced++;
      return pending as Promise<T>;
    }
    this.stats.misses++;
    const promise = (async () => {
      try {
        const value = await fetch();
        this.set(key, value);
        return value;
      } catch (err) {
        this.stats.errors++;
        const stale = this.entries.get(key);
        if (stale && this.now() - stale.storedAt < this.staleMs) {
          this.stats.staleServed++;
          return stale.value as T;
        }
        throw err;
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, promise);
    return promise;
  }

  /** Stores a value fetched elsewhere (e.g. services seen in a list page). */
  set(key: string, value: unknown): void {
    this.entries.delete(key);
    this.entries.set(key, { value, storedAt: this.now() });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Forgets every entry. */
  clear(): void {
    this.entries.clear();
  }

  /** Number of entries held. */
  get size(): number {
    return this.entries.size;
  }
}
