import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database';

// bigint (int8) and numeric come back as strings by default; counts above 2^53 do not occur here,
// but ids stay strings so they round-trip exactly. timestamptz stays a Date.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

/** Options for {@link createDatabase}. */
export interface DatabaseOptions {
  /** Connection string, e.g. `postgres://postgres@127.0.0.1:5432/dpod_audit`. */
  url: string;
  /** Pool size (default 10). */
  poolSize?: number;
  /** `statement_timeout` for every session, in ms (default: none). */
  statementTimeoutMs?: number;
  /** `application_name` shown in `pg_stat_activity` (default `dpod-audit-gateway`). */
  applicationName?: string;
}

/** A Kysely instance and the pg pool beneath it (the pool is needed for COPY). */
export interface DatabaseHandle {
  db: Kysely<Database>;
  pool: pg.Pool;
  destroy(): Promise<void>;
}

/** Opens a pooled connection to PostgreSQL. */
export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'dpod-audit-gateway',
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let destroyed = false;
  return {
    db,
    pool,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await db.destroy();
    },
  };
}
