import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { aheadMessage, migrationStatus, type MigrationStatus } from '../../db/migrate';

/** One readiness check's outcome. */
export interface CheckResult {
  ok: boolean;
  detail?: string;
  [extra: string]: unknown;
}

/**
 * What `/readyz` reports: ready when the database and the read replica (if any) answer within the deadline and
 * the database has every migration this version knows (DPoD is reported, not required).
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
  /** The read replica GraphQL reads go to (`DATABASE_READ_URL`), when there is one: checked like `db`, as `replica`. */
  readDb?: Kysely<Database>;
  /** How long each database check may take, in ms (default 2000): a server that does not answer fails the check. */
  databaseDeadlineMs?: number;
  /** DPoD reachability; results are cached for `dpodCacheMs` (default 10 s) so probes do not hammer DPoD. */
  dpodProbe?: DpodProbe;
  dpodCacheMs?: number;
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
  const pingReplica = options.readDb ? ping(options.readDb) : null;
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
      pingReplica
        ? within(deadlineMs, pingReplica()).then(
            () => ({ ok: true }),
            (err) => ({ ok: false, detail: `read replica (DATABASE_READ_URL) unreachable: ${messageOf(err)}` }),
          )
        : { ok: true, detail: 'not configured' },
      dpod(),
    ]);
    return {
      ready: database.ok && migrations.ok && replica.ok,
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
