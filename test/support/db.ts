import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';

/** A fresh, migrated database of this test run (cloned from the run's template). */
export interface TestDatabase extends DatabaseHandle {
  url: string;
  name: string;
  /** Empties every table (keeps partitions). */
  truncate(): Promise<void>;
  /** Destroys the pool and drops the database. */
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_ADMIN_DATABASE_URL;
  if (!url) throw new Error('TEST_ADMIN_DATABASE_URL is unset: run tests through jest (test/support/global-setup.ts)');
  return url;
}

/** Builds a connection string to `database` on the test server. */
export function urlFor(database: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates an empty database (not migrated) on the test server; returns its name. */
export async function createEmptyDatabase(): Promise<string> {
  const name = `dpod_t_${process.env.TEST_RUN_ID}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return name;
}

/** Drops a database of the test server, disconnecting its sessions. */
export async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  } finally {
    await admin.end();
  }
}

/** Clones the run's migrated template into a new database and connects to it. */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  const name = `dpod_t_${process.env.TEST_RUN_ID}_${randomBytes(4).toString('hex')}`;
  const template = process.env.TEST_TEMPLATE_DATABASE!;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`create database ${name} template ${template}`);
        break;
      } catch (err) {
        // Two clones of one template at the same instant can collide; wait and retry.
        if (attempt >= 20 || !/being accessed by other users/.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  } finally {
    await admin.end();
  }
  const url = urlFor(name);
  const handle = createDatabase({ url, poolSize: options.poolSize ?? 5 });
  return {
    ...handle,
    url,
    name,
    async truncate() {
      await sql`truncate audit_events, ingest_runs, ingest_checkpoints, rejected_records, audit_rollups_hourly, audit_address_rollups_daily, integrity_seals, integrity_retention, findings, webhook_deliveries restart identity cascade`.execute(
        handle.db,
      );
    },
    async drop() {
      await handle.destroy();
      await dropDatabase(name);
    },
  };
}
