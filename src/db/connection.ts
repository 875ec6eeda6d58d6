import { LRUCache } from 'lru-cache';
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
  /**
   * How long a statement may wait for PostgreSQL's answer on the client side, in ms (default: no limit). Past it
   * the statement fails and its connection is dropped from the pool: a connection that went silent (a firewall or
   * NAT forgetting it after a failover) would otherwise hold every later statement on it for good. Set it above
   * `statementTimeoutMs`, which PostgreSQL enforces itself when it can answer.
   */
  queryTimeoutMs?: number;
  /** How long to wait for a pool connection, connecting included, in ms (default: no limit). */
  connectTimeoutMs?: number;
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

/** Names of the prepared statements seen (a statement text is hashed once, not at every execution). */
const statementNames = new LRUCache<string, string>({ max: 2000 });

/** The name a marked statement is prepared under on every connection: a digest of its text. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `p${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return name;
}

/** pg's error for a statement whose answer did not come within `query_timeout`. */
export const READ_TIMEOUT = 'Query read timeout';

type WrappedClient = pg.PoolClient & { wrapped?: true; readTimedOut?: boolean };

/**
 * A pg client, as handed out for one use: its marked statements go out as named prepared statements, and once a
 * statement on it timed out waiting for an answer it is released as broken, so the pool ends it (pg leaves such a
 * client waiting for the lost answer, and every later statement on it would queue behind that).
 *
 * Why a wrapper and not a library hook: Kysely 0.28's PostgresDialect calls `client.query(sql, parameters)` and has no
 * option for a statement name, while pg names a statement only through a `{ name, text, values }` config; the two meet
 * here. A `pg.Pool({ Client })` subclass would need the same untyped dispatch over `query`'s overloads, and the
 * read-timeout release below needs the per-checkout `release` anyway.
 */
export function forOneUse(client: pg.PoolClient): pg.PoolClient {
  const wrapped = client as WrappedClient;
  if (!wrapped.wrapped) {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
      let result: unknown;
      if (typeof text === 'string' && text.startsWith(PREPARED_MARK)) {
        const name = statementName(text);
        result = query({ name, text, values }, callback);
      } else {
        result = callback === undefined ? query(text, values) : query(text, values, callback);
      }
      if (callback !== undefined || !(result instanceof Promise)) return result;
      return result.catch((err: unknown) => {
        if (err instanceof Error && err.message === READ_TIMEOUT) wrapped.readTimedOut = true;
        throw err;
      });
    };
    wrapped.wrapped = true;
  }
  // The pool gives the client a new release function at every checkout. (Kysely releases with `false`.)
  const release = client.release.bind(client);
  client.release = (err?: Error | boolean) =>
    release(
      err ||
        (wrapped.readTimedOut
          ? new Error('PostgreSQL did not answer within the query timeout; the connection is dropped')
          : undefined),
    );
  return client;
}

/** Opens a pooled connection to PostgreSQL. */
export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'dpod-audit-gateway',
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    ...(options.queryTimeoutMs ? { query_timeout: options.queryTimeoutMs } : {}),
    ...(options.connectTimeoutMs ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor may a checked-out one (a statement running, or a client held like the follower's lease): pg emits 'error'
  // with no listener then, an uncaught exception. pg fails its statements with the error, and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: { connect: async () => forOneUse(await pool.connect()), end: () => pool.end() },
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
