import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, sql, type RawBuilder } from 'kysely';
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

const PREPARED_MARK = '/* prepared */';

/**
 * Marks a statement to run as a named prepared statement: each connection parses and plans it once and then
 * only executes it, saving the planning on every later run. For the hot, fixed-shape reads (event pages);
 * its name derives from its text, so each distinct text is prepared once per connection.
 */
export function prepared<T>(statement: RawBuilder<T>): RawBuilder<T> {
  return sql<T>`${sql.raw(PREPARED_MARK)} ${statement}`;
}

/** A pg client whose marked statements go out as named prepared statements. */
function withPreparedStatements(client: pg.PoolClient): pg.PoolClient {
  const marked = client as pg.PoolClient & { preparesMarked?: true };
  if (marked.preparesMarked) return client;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    if (typeof text === 'string' && text.startsWith(PREPARED_MARK)) {
      const name = `p${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      return query({ name, text, values }, callback);
    }
    return callback === undefined ? query(text, values) : query(text, values, callback);
  };
  marked.preparesMarked = true;
  return client;
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
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: { connect: async () => withPreparedStatements(await pool.connect()), end: () => pool.end() },
    }),
  });
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
