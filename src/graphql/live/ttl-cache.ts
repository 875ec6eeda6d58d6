/** Options of {@link TtlCache}. */
export interface TtlCacheOptions {
  /** Seconds an entry is fresh (DPOD_CACHE_TTL_SECONDS; 0 = always refetch, still coalesced and stale-if-error). */
  ttlSeconds: number;
  /** Seconds a stale entry may still be served when the upstream fails (default 86,400). */
  staleIfErrorSeconds?: number;
  /** Most entries kept; the oldest are evicted first (default 50,000). */
  maxEntries?: number;
  /**
   * Seconds a failed upstream call is remembered (default 5): meanwhile the key is answered from its stale entry, or
   * with that failure, at once. Without it, while DPoD is down every request would wait out its own retries.
   */
  failureMemoSeconds?: number;
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
  /** Answers given from a remembered failure, without asking upstream. */
  failedFast: number;
}

interface Entry {
  value: unknown;
  storedAt: number;
}

/**
 * A process-wide cache beneath the per-request DataLoaders: fresh entries are served for `ttlSeconds`;
 * concurrent misses of one key share one upstream call; when the upstream fails, a stale entry
 * (younger than `staleIfErrorSeconds`) is served instead of the error, and the failure is remembered for
 * `failureMemoSeconds`, during which the key is answered without asking again.
 */
export class TtlCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly failures = new Map<string, { error: unknown; at: number }>();
  private readonly failureMemoMs: number;
  private readonly ttlMs: number;
  private readonly staleMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  readonly stats: TtlCacheStats = { hits: 0, misses: 0, coalesced: 0, staleServed: 0, errors: 0, failedFast: 0 };

  constructor(options: TtlCacheOptions) {
    this.ttlMs = options.ttlSeconds * 1000;
    this.staleMs = (options.staleIfErrorSeconds ?? 86_400) * 1000;
    this.maxEntries = options.maxEntries ?? 50_000;
    this.failureMemoMs = (options.failureMemoSeconds ?? 5) * 1000;
    this.now = options.now ?? Date.now;
  }

  /** Returns the cached value of `key`, or runs `fetch` (once for all concurrent callers) and caches its result. */
  async get<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.storedAt < this.ttlMs) {
      this.stats.hits++;
      return entry.value as T;
    }
    const failed = this.failures.get(key);
    if (failed && this.now() - failed.at < this.failureMemoMs) {
      const stale = this.stale(key);
      if (stale) {
        this.stats.staleServed++;
        return stale.value as T;
      }
      this.stats.failedFast++;
      throw failed.error;
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
        this.rememberFailure(key, err);
        const stale = this.stale(key);
        if (stale) {
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

  /** The entry of `key` if it is young enough to serve when the upstream fails. */
  private stale(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    return entry && this.now() - entry.storedAt < this.staleMs ? entry : undefined;
  }

  private rememberFailure(key: string, error: unknown): void {
    this.failures.delete(key);
    this.failures.set(key, { error, at: this.now() });
    while (this.failures.size > this.maxEntries) this.failures.delete(this.failures.keys().next().value as string);
  }

  /** Stores a value fetched elsewhere (e.g. services seen in a list page). */
  set(key: string, value: unknown): void {
    this.failures.delete(key);
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
    this.failures.clear();
  }

  /** Number of entries held. */
  get size(): number {
    return this.entries.size;
  }
}
