import { Kysely, Migrator, sql, type MigrationResult } from 'kysely';
import { migrations } from '../../migrations';
import { describeConnectionFailure, type DatabaseSource } from './connection-failure';
import type { Database } from './database';

const MIGRATION_TABLE = 'schema_migrations';

/** What a migration run did. */
export interface MigrateOutcome {
  applied: string[];
  alreadyCurrent: boolean;
  /** Migrations the database has and this version does not know (empty unless run with `whenAhead: 'skip'`). */
  unknown: string[];
}

/** How the database's migrations compare with this version's. */
export interface MigrationStatus {
  /** Known to this version, not applied to the database. */
  pending: string[];
  /** Applied to the database, unknown to this version. */
  unknown: string[];
  /**
   * A newer version migrated the database: every migration this version knows is applied and the unknown
   * ones all sort after them. This version can use such a database but must not migrate it.
   */
  ahead: boolean;
}

/** Options for {@link migrateToLatest}. */
export interface MigrateOptions {
  /**
   * When the database is ahead ({@link MigrationStatus.ahead}): `'fail'` (default) throws saying so;
   * `'skip'` applies nothing and returns the unknown migrations (for processes that start mid-upgrade).
   */
  whenAhead?: 'fail' | 'skip';
  /** Where the URL came from: a failure to connect then names it, the server and what to check. */
  source?: DatabaseSource;
}

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: 'schema_migrations_lock',
  });
}

function failureMessage(results: MigrationResult[] | undefined, error: unknown, source?: DatabaseSource): string {
  const connection = source && describeConnectionFailure(error, source);
  if (connection) return connection;
  const failed = results?.find((r) => r.status === 'Error');
  const reason = error instanceof Error ? error.message : String(error);
  return failed ? `migration ${failed.migrationName} failed: ${reason}` : `migration failed: ${reason}`;
}

/**
 * Compares the migrations applied to the database with this version's. Kysely's Migrator cannot: its
 * `getMigrations()` lists only the migrations the code knows, and its runs reject any unknown applied
 * migration as "corrupted migrations: ... is missing" whatever `allowUnorderedMigrations` says.
 */
export async function migrationStatus(db: Kysely<Database>): Promise<MigrationStatus> {
  const known = Object.keys(migrations).sort();
  const table = await sql<{ t: string | null }>`select to_regclass(${MIGRATION_TABLE}::text)::text as t`.execute(db);
  const applied = table.rows[0]?.t
    ? (await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(db)).rows.map(
        (r) => r.name,
      )
    : [];
  const pending = known.filter((name) => !applied.includes(name));
  const unknown = applied.filter((name) => !known.includes(name));
  const newest = known[known.length - 1] ?? '';
  return {
    pending,
    unknown,
    ahead: unknown.length > 0 && pending.length === 0 && unknown.every((name) => name > newest),
  };
}

/** One line for a database a newer version has migrated, naming the migrations this version does not know. */
export function aheadMessage(unknown: readonly string[]): string {
  return `the database is ahead of this version of dpod-audit: it has ${unknown.length} migration(s) this version does not know (${unknown.join(', ')}), applied by a newer version`;
}

function mismatchError(status: MigrationStatus): Error {
  if (status.ahead) {
    return new Error(
      `${aheadMessage(status.unknown)}; nothing was migrated. Run \`dpod-audit migrate\` from the newest version instead (this version's serve, ingest, import and retention still start against this database).`,
    );
  }
  const lacks = status.pending.length > 0 ? ` and lacks ${status.pending.join(', ')}, which it does know` : '';
  return new Error(
    `the database's migrations do not match this version of dpod-audit: it has ${status.unknown.join(', ')}, which this version does not know${lacks}; nothing was migrated. Was it migrated by another build? Migrate it with the version that applied those migrations.`,
  );
}

/**
 * Applies every pending migration. Safe to run twice or from several processes at once:
 * Kysely's Postgres adapter serialises runs with an advisory lock.
 * A database with migrations this version does not know is never migrated: when it is merely ahead
 * (see {@link MigrationStatus.ahead}) and `whenAhead` is `'skip'`, the unknown migrations are returned; otherwise it throws.
 */
export async function migrateToLatest(db: Kysely<Database>, options: MigrateOptions = {}): Promise<MigrateOutcome> {
  let status: MigrationStatus;
  try {
    status = await migrationStatus(db);
  } catch (err) {
    throw new Error(failureMessage(undefined, err, options.source), { cause: err });
  }
  if (status.unknown.length === 0) {
    const { error, results } = await migrator(db).migrateToLatest();
    if (!error) {
      const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      return { applied, alreadyCurrent: applied.length === 0, unknown: [] };
    }
    // A newer version may have migrated the database between our look and our run: look again.
    status = await migrationStatus(db).catch(() => status);
    if (status.unknown.length === 0) throw new Error(failureMessage(results, error, options.source));
  }
  if (status.ahead && options.whenAhead === 'skip')
    return { applied: [], alreadyCurrent: true, unknown: status.unknown };
  throw mismatchError(status);
}

/** Reverts every migration, newest first (tests use it; the CLI has no command that does). */
export async function migrateAllDown(db: Kysely<Database>): Promise<string[]> {
  const m = migrator(db);
  const reverted: string[] = [];
  for (;;) {
    const { error, results } = await m.migrateDown();
    if (error) throw new Error(failureMessage(results, error));
    const done = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    if (done.length === 0) return reverted;
    reverted.push(...done);
  }
}

/** Names of migrations known to the code but not yet applied (empty when current). */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  return (await migrationStatus(db)).pending;
}
