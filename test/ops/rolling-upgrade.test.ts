import { spawn } from 'node:child_process';
import { expect } from '@jest/globals';
import { sql } from 'kysely';
import { migrations } from '../../migrations';
import { CLI, runCli } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/db';

// What a newer version leaves behind: every migration this version knows, plus one it does not.
const NEWER = '29990101_0001_added_by_a_newer_version';

async function appliedMigrations(db: TestDatabase): Promise<string[]> {
  return (await sql<{ name: string }>`select name from schema_migrations order by name`.execute(db.db)).rows.map(
    (r) => r.name,
  );
}

/** Starts `dpod-audit serve` and resolves once it prints its URL (or rejects with its stderr if it exits first). */
function startServe(
  env: Record<string, string>,
): Promise<{ url: string; stderr: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /GraphQL on (http:\/\/\S+)\/graphql/.exec(stdout);
      if (m) resolve({ url: m[1]!, stderr: () => stderr, stop: () => (child.kill('SIGTERM'), exited) });
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening: ${stderr}`)));
  });
}

describe('a database a newer version has migrated', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 2 });
    await sql`insert into schema_migrations (name, timestamp) values (${NEWER}, ${new Date().toISOString()})`.execute(
      db.db,
    );
  });
  afterAll(async () => db?.drop());

  it('serve starts on it without migrating, warns naming the unknown migration, and is ready', async () => {
    const serve = await startServe({ DATABASE_URL: db.url });
    try {
      const res = await fetch(`${serve.url}/readyz`);
      expect({ status: res.status, body: await res.json() }).toEqual({
        status: 200,
        body: {
          status: 'ready',
          checks: expect.objectContaining({
            database: { ok: true },
            migrations: {
              ok: true,
              detail: `the database is ahead of this version of dpod-audit: it has 1 migration(s) this version does not know (${NEWER}), applied by a newer version; this version runs on it without migrating`,
              unknown: [NEWER],
            },
          }),
        },
      });
      const warnings = serve
        .stderr()
        .split('\n')
        .filter((line) => line.includes('"level":40'));
      expect(warnings.map((line) => (JSON.parse(line) as { msg?: unknown }).msg)).toContain(
        `the database is ahead of this version of dpod-audit: it has 1 migration(s) this version does not know (${NEWER}), applied by a newer version; starting without migrating`,
      );
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(await appliedMigrations(db)).toEqual([...Object.keys(migrations), NEWER].sort());
  });

  it('retention (like ingest and import) runs on it with the same warning', async () => {
    const result = await runCli(['retention', '--older-than', '400d'], { DATABASE_URL: db.url });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^retention older than 400d/m);
    expect(result.stderr).toContain(
      `this version does not know (${NEWER}), applied by a newer version; running without migrating`,
    );
  });

  it('migrate refuses it with exit 1 and says nothing was migrated', async () => {
    const result = await runCli(['migrate'], { DATABASE_URL: db.url });
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: '' });
    expect(result.stderr).toBe(
      `error: the database is ahead of this version of dpod-audit: it has 1 migration(s) this version does not know (${NEWER}), applied by a newer version; nothing was migrated. ` +
        "Run `dpod-audit migrate` from the newest version instead (this version's serve, ingest, import and retention still start against this database).\n",
    );
    expect(await appliedMigrations(db)).toEqual([...Object.keys(migrations), NEWER].sort());
  });
});
