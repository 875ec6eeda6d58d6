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
  backfill(deps: IngestHostDeps, window: { from: Date; to: Date }, options?: { progressBar?: boolean }): Promise<unknown>;
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

/** Backfills one window through the Audit Query API. */
export async function backfillWindow(deps: IngestHostDeps, from: Date, to: Date): Promise<unknown> {
  return ingestApi().backfill(deps, { from, to }, { progressBar: false });
}

/** Starts the follower (polling from the last checkpoint) in this process. */
export async function startIngestFollower(deps: IngestHostDeps, options: { intervalSeconds: number; overlapSeconds: number }): Promise<FollowerHandle> {
  const api = ingestApi();
  if (api.startFollower) return api.startFollower(deps, options);
  if (api.Follower) {
    const follower = new api.Follower(deps, options);
    await follower.start?.();
    return follower;
  }
  throw new Error('the ingest module exports no follower (startFollower or Follower)');
}
