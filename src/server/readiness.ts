import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/database';
import { aheadMessage, migrationStatus, type MigrationStatus } from '../db/migrate';

/** One readiness check's outcome. */
export interface CheckResult {
  ok: boolean;
  detail?: string;
  [extra: string]: unknown;
}

/** What `/readyz` reports: ready when the database is reachable and has every migration this version knows (DPoD is reported, not required). */
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
      migrationStatus(options.db).then(migrationsCheck, (err) => ({ ok: false, detail: `cannot read migrations: ${messageOf(err)}` })),
      dpod(),
    ]);
    return { ready: database.ok && migrations.ok, checks: { database, migrations, dpod: dpodResult } };
  };
}

/** Current, or ahead (a newer version migrated the database: this one runs on it), is ready; behind is not. */
function migrationsCheck(status: MigrationStatus): CheckResult {
  if (status.ahead) return { ok: true, detail: `${aheadMessage(status.unknown)}; this version runs on it without migrating`, unknown: status.unknown };
  if (status.unknown.length > 0) {
    return { ok: false, detail: `the database has migrations this version does not know (${status.unknown.join(', ')})`, pending: status.pending, unknown: status.unknown };
  }
  return status.pending.length === 0 ? { ok: true } : { ok: false, detail: `pending migrations: ${status.pending.join(', ')}`, pending: status.pending };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
