import { SeededRandom } from './seeded-random';

/** Faults to inject on one route (or on every route with the key `*`). Rates are fractions 0..1. */
export interface FaultSpec {
  /** Fraction of requests answered with `errorStatus` (default 0). */
  errorRate?: number;
  /** Status of injected errors (default 503). */
  errorStatus?: number;
  /** Fraction of requests answered 429 with a `Retry-After` header (default 0). */
  rateLimitRate?: number;
  /** `Retry-After` seconds of injected 429s (default 1; may be fractional, e.g. 0.05). */
  retryAfterSeconds?: number;
  /** Delay added before answering, in ms (default 0). */
  latencyMs?: number;
  /** Fraction of authenticated requests answered 401 as if the token had expired (default 0). */
  tokenExpiredRate?: number;
  /** Downloads only: cut the body after this many bytes and drop the connection. */
  truncateAfterBytes?: number;
  /** Export creation only: fraction of jobs that end FAILED (default 0). */
  exportFailureRate?: number;
  /** Apply the status faults (error, 429, 401, truncation) to at most this many requests, then stop (default unlimited). */
  times?: number;
}

/** What to do with one request. */
export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'error'; status: number }
  | { kind: 'rate-limit'; retryAfterSeconds: number }
  | { kind: 'token-expired' }
  | { kind: 'truncate'; afterBytes: number };

/** Holds per-route fault specs and decides, with a seeded generator, which requests fail. */
export class FaultInjector {
  private readonly specs = new Map<string, FaultSpec & { used: number }>();
  private readonly rng: SeededRandom;

  constructor(seed: number) {
    this.rng = new SeededRandom(seed ^ 0x5eed);
  }

  /** Sets (or with null clears) the faults of a route key such as `GET /v1/service_instances` or `*`. */
  set(route: string, spec: FaultSpec | null): void {
    if (spec === null) this.specs.delete(route);
    else this.specs.set(route, { ...spec, used: 0 });
  }

  /** Removes every fault. */
  clear(): void {
    this.specs.clear();
  }

  /** The effective spec of a route (its own, else `*`). */
  specFor(route: string): (FaultSpec & { used: number }) | undefined {
    return this.specs.get(route) ?? this.specs.get('*');
  }

  /** Added latency of a route, ms. */
  latencyFor(route: string): number {
    return this.specFor(route)?.latencyMs ?? 0;
  }

  /** Decides the fault of one request on `route` (`authenticated`: a bearer-token route; `download`: a file route). */
  decide(route: string, authenticated: boolean, download = false): FaultDecision {
    const spec = this.specFor(route);
    if (!spec) return { kind: 'none' };
    if (spec.times !== undefined && spec.used >= spec.times) return { kind: 'none' };
    let decision: FaultDecision = { kind: 'none' };
    const r = this.rng.next();
    const e = spec.errorRate ?? 0;
    const l = spec.rateLimitRate ?? 0;
    const t = authenticated ? (spec.tokenExpiredRate ?? 0) : 0;
    if (r < e) decision = { kind: 'error', status: spec.errorStatus ?? 503 };
    else if (r < e + l) decision = { kind: 'rate-limit', retryAfterSeconds: spec.retryAfterSeconds ?? 1 };
    else if (r < e + l + t) decision = { kind: 'token-expired' };
    else if (download && spec.truncateAfterBytes !== undefined)
      decision = { kind: 'truncate', afterBytes: spec.truncateAfterBytes };
    if (decision.kind !== 'none') spec.used++;
    return decision;
  }

  /** True when a new export job should fail. */
  failExport(route: string): boolean {
    const rate = this.specFor(route)?.exportFailureRate ?? 0;
    return rate > 0 && this.rng.next() < rate;
  }
}
