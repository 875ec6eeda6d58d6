import { execSync } from 'node:child_process';
import pg from 'pg';
import { createDatabase } from '../../src/db/connection';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { migrateToLatest } from '../../src/db/migrate';

/**
 * Once per test run: builds dist/ (tests that spawn the CLI use it), finds a PostgreSQL
 * (DATABASE_URL, else an embedded one) and prepares a migrated template database that each
 * test file clones (see test/support/db.ts).
 */
export default async function globalSetup(): Promise<void> {
  // Tests that spawn the CLI run dist/: a failed build must fail the run, not leave a stale dist/ behind.
  execSync('npm run build --silent', { stdio: 'inherit' });
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const embedded = await startEmbeddedPostgres({ database: 'dpod_audit_test' });
    (globalThis as Record<string, unknown>).__dpodEmbedded = embedded;
    adminUrl = embedded.url;
    process.stderr.write(`\n[test] embedded PostgreSQL on port ${embedded.port}\n`);
  }
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const template = `dpod_tmpl_${runId}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${template}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${template}`;
  const handle = createDatabase({ url: url.toString(), poolSize: 1 });
  await migrateToLatest(handle.db);
  await handle.destroy();
  process.env.TEST_ADMIN_DATABASE_URL = adminUrl;
  process.env.TEST_TEMPLATE_DATABASE = template;
  process.env.TEST_RUN_ID = runId;
}
