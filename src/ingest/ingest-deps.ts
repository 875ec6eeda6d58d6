import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import type { Database } from '../db/database';
import type { ExportJob } from '../dpod/types';
import type { IngestProgress } from './progress-reporter';

/** The part of the DPoD client the ingester uses (the Audit Query API); `DpodClient` satisfies it. */
export interface AuditExportApi {
  createExport(window: { from: Date; to: Date }): Promise<ExportJob>;
  waitForExport(
    jobId: string,
    options?: { pollIntervalMs?: number; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<ExportJob>;
  downloadExport(location: string): Promise<Readable>;
}

/** What the ingester needs from its host. */
export interface IngestDeps {
  db: Kysely<Database>;
  /** The pg pool beneath `db` (COPY needs a raw client). */
  pool: pg.Pool;
  /** The DPoD client; required for API ingestion (not for file imports). */
  dpod?: AuditExportApi;
  logger?: Logger;
  /** Receives progress snapshots (in addition to any bar or log lines). */
  onProgress?: (p: IngestProgress) => void;
}

/** Options shared by every kind of run. */
export interface IngestOptions {
  /** Rows per insert transaction (default 5,000). */
  batchSize?: number;
  /** Batches written at once, each on its own connection (default 2). */
  parallelism?: number;
  /**
   * Store each event's leaf hash with it, so that sealing reads it instead of recomputing it (default true;
   * `import --no-seal` turns it off: sealing later computes those leaves from the columns).
   */
  leaves?: boolean;
  /**
   * Recognise stored records by the digest of their text before parsing them (default true; false parses every
   * record, which gives the same result more slowly: see src/ingest/stored-lines.ts).
   */
  recognizeStored?: boolean;
  /** Show a progress bar (default: when stderr is a TTY; otherwise JSON log lines). */
  progressBar?: boolean;
}
