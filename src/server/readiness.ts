import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/database';
import { pendingMigrations } from '../db/migrate';

/** One readiness check's outcome. */
export interface CheckResult {
  ok: boolean;
  detail?: string;
  [extra: string]: unknown;
}

/** What `/readyz` reports: ready when the database is reachable and migrations are current (DPoD is reported, not required). */
export interface ReadinessReport {
  ready: boolean;
  checks: { database: CheckResult; migrations: CheckResult; dpod: CheckResult };
}

/** Probes DPoD reachability: resolves with a check result, never throws. */
export type DpodProbe = () => Promise<CheckResult>;

/** Options for {@link createReadiness}. */
export interface ReadinessOptions {
  db: Kysely<Database>;
  /** DPoD reachability; results are cached for `dpodCacheMs` (default 10 s) so probes do not hammer DPoD. */
  dpodProbe?: DpodProbe;
  dpodCacheMs?: number;
}

/** Builds the `/readyz` check. */
export function createReadiness(options: ReadinessOptions): () => Promise<ReadinessReport> {
  let dpodCached: { at: number; result: Promise<CheckResult> } | null = null;
  const cacheMs = options.dpodCacheMs ?? 10_000;
  const dpod = (): Promise<CheckResult> => {
    if (!options.dpodProbe) return Promise.resolve({ ok: true, detail: 'not configured' });
    if (!dpodCached || Date.now() - dpodCached.at > cacheMs) {
      dpodCached = { at: Date.now(), result: options.dpodProbe().catch((err) => ({ ok: false, detail: messageOf(err) })) };
    }
    return dpodCached.result;
  };
  return async () => {
    const [database, migrations, dpodResult] = await Promise.all([
      sql`select 1`.execute(options.db).then(
        () => ({ ok: true }),
        (err) => ({ ok: false, detail: `database unreachable: ${messageOf(err)}` }),
      ),
      pendingMigrations(options.db).then(
        (pending) => (pending.length === 0 ? { ok: true } : { ok: false, detail: `pending migrations: ${pending.join(', ')}`, pending }),
        (err) => ({ ok: false, detail: `cannot read migrations: ${messageOf(err)}` }),
      ),
      dpod(),
    ]);
    return { ready: database.ok && migrations.ok, checks: { database, migrations, dpod: dpodResult } };
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
