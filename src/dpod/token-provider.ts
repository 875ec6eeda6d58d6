/** A fetched access token and when it expires (ms since epoch). */
export interface AccessToken {
  token: string;
  expiresAtMs: number;
}

/**
 * Caches an OAuth2 access token until shortly before it expires; concurrent callers share one fetch,
 * and a token the API refused is dropped so the next caller fetches a fresh one.
 */
export class TokenProvider {
  private cached: (AccessToken & { refreshAtMs: number }) | null = null;
  private pending: Promise<AccessToken> | null = null;
  private fetches = 0;

  constructor(
    private readonly fetchToken: () => Promise<AccessToken>,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid token: the cached one, or one shared fresh fetch. */
  async getToken(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAtMs) return this.cached.token;
    if (!this.pending) {
      this.fetches++;
      this.pending = this.fetchToken().then(
        (t) => {
          // Refresh shortly before expiry: a tenth of the lifetime early, at most 60 s.
          const lifetime = Math.max(0, t.expiresAtMs - this.now());
          this.cached = { ...t, refreshAtMs: t.expiresAtMs - Math.min(60_000, lifetime / 10) };
          this.pending = null;
          return t;
        },
        (err: unknown) => {
          this.pending = null;
          throw err;
        },
      );
    }
    return (await this.pending).token;
  }

  /** Drops `token` if it is still the cached one (the API answered 401 to it). */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = null;
  }

  /** How many token fetches were started (for tests and metrics). */
  fetchCount(): number {
    return this.fetches;
  }
}
