import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../src/db/embedded';

/** The PostgreSQL a benchmark runs on: `DATABASE_URL`, else an embedded one it starts (stop it at the end). */
export async function benchServer(
  log: (line: string) => void,
): Promise<{ adminUrl: string; embedded: EmbeddedPostgresHandle | undefined }> {
  if (process.env.DATABASE_URL) return { adminUrl: process.env.DATABASE_URL, embedded: undefined };
  log('starting an embedded PostgreSQL (set DATABASE_URL to use another server)');
  const embedded = await startEmbeddedPostgres({ database: 'dpod_bench' });
  return { adminUrl: embedded.url, embedded };
}
