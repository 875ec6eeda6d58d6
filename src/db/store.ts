import type { Config } from '../config';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded';

/** Where the program's PostgreSQL is: the configured one, or an embedded one it started. */
export interface StoreLocation {
  url: string;
  embedded: EmbeddedPostgresHandle | undefined;
  stop(): Promise<void>;
}

/** Uses `DATABASE_URL` when set; otherwise starts an embedded PostgreSQL and stops it on exit. */
export async function locateStore(config: Config, onLog?: (line: string) => void): Promise<StoreLocation> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, embedded: undefined, stop: () => Promise.resolve() };
  }
  const embedded = await startEmbeddedPostgres({ baseDir: config.embeddedPgDir, onLog });
  return { url: embedded.url, embedded, stop: () => embedded.stop() };
}
