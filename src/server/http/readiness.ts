import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database';
import type { ReplicaStatus } from '../../db/read-router';
import { aheadMessage, migrationStatus, type MigrationStatus } from '../../db/migrate';

/** One readiness check's outcome. */
export interface CheckResult {
  ok: boolean;
  detail?: string;
  [extra: string]: unknown;
}

/**
 * What `/readyz` reports: ready when the database answers within the deadline and has every migration this version
 * knows. The read replica and DPoD are reported, not required: while the replica is unreachable or lags, reads go
 * to the primary, and `checks.replica.detail` says so.
 */
export interface ReadinessReport {
  ready: boolean;
  checks: { database: CheckResult; migrations: CheckResult; replica: CheckResult; dpod: CheckResult };
}

/** Probes DPoD reachability: resolves with a check result, never throws. */
export type DpodProbe = () => Promise<CheckResult>;

/** Options for {@link createReadiness}. */
export interface ReadinessOptions {
  db: Kysely<Database>;
  /** Where reads stand with the read replica (`DATABASE_READ_URL`), when there is one: reported as `replica`. */
  replica?: () => ReplicaStatus | null;
  /** How long each database check may take, in ms (default 2000): a server that does not answer fails the check. */
  databaseDeadlineMs?: number;
  /** DPoD reachability; results are cached for `dpodCacheMs` (default 10 s) so probes do not hammer DPoD. */
  dpodProbe?: DpodProbe;
  dpodCacheMs?: number;
}

function replicaCheck(status: ReplicaStatus | null): CheckResult {
  if (!status) return { ok: true, detail: 'not configured' };
  return status.serving
    ? { ok: true, serving: true, lagSeconds: status.lagSeconds }
    : { ok: true, serving: false, lagSeconds: status.lagSeconds, detail: status.detail ?? 'reads go to the primary' };
}

/** Builds the `/readyz` check. */
export function createReadiness(options: ReadinessOptions): () => Promise<ReadinessReport> {
  let dpodCached: { at: number; result: Promise<CheckResult> } | null = null;
  const cacheMs = options.dpodCacheMs ?? 10_000;
  const deadlineMs = options.databaseDeadlineMs ?? 2_000;
  const dpod = (): Promise<CheckResult> => {
    if (!options.dpodProbe) return Promise.resolve({ ok: true, detail: 'not configured' });
    if (!dpodCached || Date.now() - dpodCached.at > cacheMs) {
      dpodCached = {
        at: Date.now(),
        result: options.dpodProbe().catch((err) => ({ ok: false, detail: messageOf(err) })),
      };
    }
    return dpodCached.result;
  };
  const ping = (db: Kysely<Database>) => singleFlight(() => sql`select 1`.execute(db));
  const pingPrimary = ping(options.db);
  const readMigrations = singleFlight(() => migrationStatus(options.db));
  return async () => {
    const [database, migrations, replica, dpodResult] = await Promise.all([
      within(deadlineMs, pingPrimary()).then(
        () => ({ ok: true }),
        (err) => ({ ok: false, detail: `database unreachable: ${messageOf(err)}` }),
      ),
      within(deadlineMs, readMigrations()).then(migrationsCheck, (err) => ({
        ok: false,
        detail: `cannot read migrations: ${messageOf(err)}`,
      })),
      Promise.resolve(replicaCheck(options.replica?.() ?? null)),
      dpod(),
    ]);
    return {
      ready: database.ok && migrations.ok,
      checks: { database, migrations, replica, dpod: dpodResult },
    };
  };
}

/** Rejects when `work` has not settled within `ms`. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Shares one run of `work` between callers while it is unsettled, so that probes of a server that does not
 * answer wait on the same attempt instead of each taking another pool connection.
 */
function singleFlight<T>(work: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () =>
    (running ??= work().finally(() => {
      running = null;
    }));
}

/** Current, or ahead (a newer version migrated the database: this one runs on it), is ready; behind is not. */
function migrationsCheck(status: MigrationStatus): CheckResult {
  if (status.ahead)
    return {
      ok: true,
      detail: `${aheadMessage(status.unknown)}; this version runs on it without migrating`,
      unknown: status.unknown,
    };
  if (status.unknown.length > 0) {
    return {
      ok: false,
      detail: `the database has migrations this version does not know (${status.unknown.join(', ')})`,
      pending: status.pending,
      unknown: status.unknown,
    };
  }
  return status.pending.length === 0
    ? { ok: true }
    : { ok: false, detail: `pending migrations: ${status.pending.join(', ')}`, pending: status.pending };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
