import { sql, type Kysely } from 'kysely';
import type { Database } from './database';
import type { StoreLocation } from './store';

/** Where a connection string came from, so that a failure to connect can say what to fix. */
export interface DatabaseSource {
  /** What holds the URL: `DATABASE_URL`, `DATABASE_READ_URL`, or `embedded PostgreSQL`. */
  variable: string;
  url: string;
}

/** `host:port` of a PostgreSQL URL (never its user or password); the port defaults to 5432. */
export function serverOf(url: string): string {
  try {
    const u = new URL(url);
    const host = u.searchParams.get('host') ?? (decodeURIComponent(u.hostname) || 'localhost');
    return `${host}:${u.searchParams.get('port') ?? (u.port || '5432')}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Turns a failure to connect into one line naming the server, the variable and what to check, e.g.
 * `cannot reach PostgreSQL at 127.0.0.1:5999 (DATABASE_URL): connection refused — is the server running and the URL right?`.
 * Returns undefined for other errors (a failing statement, a bug). The password is never part of it.
 */
export function describeConnectionFailure(err: unknown, source: DatabaseSource): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const at = `PostgreSQL at ${serverOf(source.url)} (${source.variable})`;
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot reach ${at}: connection refused — is the server running and the URL right?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${at}: host name not found (${code}) — is the host in the URL right?`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${at}: no answer (${code}) — is the host reachable from here (network, firewall) and the URL right?`;
    case '28P01':
      if (/empty password/.test(message)) return noPassword(at);
      return `cannot log in to ${at}: ${message} — check the user name and password in the URL`;
    case '28000':
      return `cannot log in to ${at}: ${message} — check the user name in the URL (and the server's pg_hba.conf)`;
    case '3D000':
      return `cannot use ${at}: ${message} — create it (createdb) or correct the database name at the end of the URL`;
  }
  // pg's own wording when a SCRAM server asks for a password and the URL has none.
  if (/client password must be a string/.test(message)) return noPassword(at);
  return undefined;
}

function noPassword(at: string): string {
  return `cannot log in to ${at}: the server asks for a password and the URL has none — add it (postgres://user:password@host:port/database)`;
}

/** Where the store's URL came from: `DATABASE_URL`, or the embedded PostgreSQL started without it. */
export function storeSource(store: Pick<StoreLocation, 'url' | 'embedded'>): DatabaseSource {
  return { variable: store.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL', url: store.url };
}

/** Runs `select 1`; on failure throws an Error whose message says what to fix ({@link describeConnectionFailure}). */
export async function assertReachable(db: Kysely<Database>, source: DatabaseSource): Promise<void> {
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      describeConnectionFailure(err, source) ??
        `cannot use PostgreSQL at ${serverOf(source.url)} (${source.variable}): ${reason}`,
      { cause: err },
    );
  }
}
