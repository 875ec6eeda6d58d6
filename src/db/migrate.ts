import { Kysely, Migrator, type MigrationResult } from 'kysely';
import { migrations } from '../../migrations';

/** What a migration run did. */
export interface MigrateOutcome {
  applied: string[];
  alreadyCurrent: boolean;
}

function migrator(db: Kysely<any>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
}

function failureMessage(results: MigrationResult[] | undefined, error: unknown): string {
  const failed = results?.find((r) => r.status === 'Error');
  const reason = error instanceof Error ? error.message : String(error);
  return failed ? `migration ${failed.migrationName} failed: ${reason}` : `migration failed: ${reason}`;
}

/**
 * Applies every pending migration. Safe to run twice or from several processes at once:
 * Kysely's Postgres adapter serialises runs with an advisory lock.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrateOutcome> {
  const { error, results } = await migrator(db).migrateToLatest();
  if (error) throw new Error(failureMessage(results, error));
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  return { applied, alreadyCurrent: applied.length === 0 };
}

/** Reverts every migration (used by tests and `migrate --down-all`). */
export async function migrateAllDown(db: Kysely<any>): Promise<string[]> {
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
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const infos = await migrator(db).getMigrations();
  return infos.filter((i) => !i.executedAt).map((i) => i.name);
}
