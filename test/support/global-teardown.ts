import pg from 'pg';
import type { EmbeddedPostgresHandle } from '../../src/db/embedded';

/** Drops the databases this run created and stops the embedded PostgreSQL, if one was started. */
export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env.TEST_ADMIN_DATABASE_URL;
  const runId = process.env.TEST_RUN_ID;
  if (adminUrl && runId) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    const { rows } = await admin.query<{ datname: string }>(
      `select datname from pg_database where datname like $1 or datname like $2`,
      [`dpod_t_${runId}_%`, `dpod_tmpl_${runId}`],
    );
    for (const { datname } of rows) {
      await admin.query(`drop database if exists ${pg.escapeIdentifier(datname)} with (force)`).catch(() => undefined);
    }
    await admin.end();
  }
  const embedded = (globalThis as Record<string, unknown>).__dpodEmbedded as EmbeddedPostgresHandle | undefined;
  if (embedded) await embedded.stop();
}
