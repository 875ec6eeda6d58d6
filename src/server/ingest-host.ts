import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../db/database';
import type { DpodClient } from '../dpod';
import type { Logger } from '../logger';

/** A running follower: `stop()` finishes the batch in hand, then resolves. */
export interface FollowerHandle {
  stop(): Promise<void>;
  runOnce?(): Promise<unknown>;
}

/** The ingest context's API as agreed (src/ingest/index.ts): backfill windows and a follower. */
interface IngestApi {
  importFiles(deps: IngestHostDeps, paths: string[], options?: { progressBar?: boolean }): Promise<unknown>;
  backfill?(deps: IngestHostDeps, window: { from: Date; to: Date }, options?: { progressBar?: boolean }): Promise<unknown>;
  startFollower?(deps: IngestHostDeps, options: { intervalSeconds: number; overlapSeconds: number }): FollowerHandle | Promise<FollowerHandle>;
  Follower?: new (deps: IngestHostDeps, options: { intervalSeconds: number; overlapSeconds: number }) => FollowerHandle & { start?(): unknown };
}

/** What the ingester needs from the server process. */
export interface IngestHostDeps {
  db: Kysely<Database>;
  pool: pg.Pool;
  dpod: DpodClient;
  logger: Logger;
}

function ingestApi(): IngestApi {
  // Loaded lazily: `serve` without --ingest never loads the ingester.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../ingest') as IngestApi;
}

/**
 * Backfills one window through the Audit Query API with the ingester's `backfill`; while an ingester without
 * it is deployed, exports the window, downloads it to a temporary file and imports that (same exactly-once load).
 */
export async function backfillWindow(deps: IngestHostDeps, from: Date, to: Date): Promise<unknown> {
  const api = ingestApi();
  if (api.backfill) return api.backfill(deps, { from, to }, { progressBar: false });
  const job = await deps.dpod.createExport({ from, to });
  const done = await deps.dpod.waitForExport(job.jobId, { pollIntervalMs: 250 });
  if (!done.location) throw new Error(`export ${job.jobId} finished (${done.state}) without a download location`);
  const dir = await mkdtemp(join(tmpdir(), 'dpod-audit-export-'));
  try {
    const file = join(dir, 'export.gz');
    await pipeline(await deps.dpod.downloadExport(done.location), createWriteStream(file));
    return await api.importFiles(deps, [file], { progressBar: false });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts the follower (polling from the last checkpoint) in this process; null when the ingester has none. */
export async function startIngestFollower(deps: IngestHostDeps, options: { intervalSeconds: number; overlapSeconds: number }): Promise<FollowerHandle | null> {
  const api = ingestApi();
  if (api.startFollower) return api.startFollower(deps, options);
  if (api.Follower) {
    const follower = new api.Follower(deps, options);
    await follower.start?.();
    return follower;
  }
  return null;
}
