import type { IngestDeps } from './ingest-deps';
import { failAbandonedRuns, type RunSummary } from './ingest-run';
import { backfill } from './backfill';
import { closedBefore, sealClosedPeriods, type SigningKey } from '../integrity';
import { applyRetention } from './retention';
import {
  detectFindings,
  type ClientDirectorySource,
  type DetectHooks,
  type DetectionSettings,
  type DetectOutcome,
} from '../detect';

/** Options of {@link startFollower}; defaults follow the configuration's. */
export interface FollowerOptions {
  /** Seconds between runs (INGEST_INTERVAL_SECONDS, default 60). */
  intervalSeconds?: number;
  /** Each run starts this far before the checkpoint, for late records (INGEST_OVERLAP_SECONDS, default 900). */
  overlapSeconds?: number;
  /** Without a checkpoint, the first run starts this far back (default 86,400: one day). */
  initialLookbackSeconds?: number;
  /** Drop partitions older than this many days after each run (RETENTION_DAYS; default: no retention). */
  retentionDays?: number;
  /** Checkpoint (and lease) name (default `follow`). */
  checkpointName?: string;
  batchSize?: number;
  pollIntervalMs?: number;
  progressBar?: boolean;
  /** The clock (default real time). */
  now?: () => Date;
  /** Receives each window's summary as soon as it is done. */
  onRun?: (summary: RunSummary) => void;
  /** Start the periodic loop (default true); false leaves only {@link Follower.runOnce}. */
  autoStart?: boolean;
  /**
   * Seal closed hours after each pass (before retention): an hour is closed `overlapSeconds + graceSeconds` after
   * it ended. Without it, nothing is sealed.
   */
  seal?: { graceSeconds: number; signingKey: SigningKey | null };
  /** Run these detection rules over each pass's range after it (and after sealing). Without it, none run. */
  detect?: DetectionSettings;
  /** Extra work inside each detection pass's transaction (the webhook outbox). */
  detectHooks?: DetectHooks;
  /** Hears each detection pass's outcome once it has committed (wakes the webhook deliverer). */
  onDetected?: (outcome: DetectOutcome) => void;
  /** DPoD's bindings, read before each detection pass (UNBOUND_CLIENT_ACTIVITY; without it, that rule does not run). */
  clientDirectory?: ClientDirectorySource;
}

/** A running follower. */
export interface Follower {
  /** One pass now: ingests from the checkpoint (minus the overlap) to now. Null when another follower holds the lease. */
  runOnce(): Promise<RunSummary[] | null>;
  /** Stops the loop, finishing the current batch; the interrupted window is re-read by the next run. */
  stop(): Promise<void>;
}

/** Key of the session advisory lock that makes one follower at a time work a checkpoint. */
function leaseKey(name: string): string {
  return `dpod_audit.follow:${name}`;
}

/**
 * Follows DPoD: every `intervalSeconds`, exports from the last checkpoint minus an overlap margin to now.
 * Followers sharing a database take a session advisory lock (released by PostgreSQL if the holder dies),
 * so only one works at a time; exactly-once inserts make even a lost lease harmless.
 */
export function startFollower(deps: IngestDeps, options: FollowerOptions = {}): Follower {
  const name = options.checkpointName ?? 'follow';
  const interval = (options.intervalSeconds ?? 60) * 1000;
  const overlap = (options.overlapSeconds ?? 900) * 1000;
  const lookback = (options.initialLookbackSeconds ?? 86_400) * 1000;
  const now = options.now ?? (() => new Date());
  const abort = new AbortController();
  let stopping = false;
  let current: Promise<unknown> | null = null;
  let timer: NodeJS.Timeout | null = null;

  async function pass(): Promise<RunSummary[] | null> {
    const client = await deps.pool.connect();
    let locked = false;
    try {
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [
        leaseKey(name),
      ]);
      locked = rows[0]!.locked;
      if (!locked) {
        deps.logger?.debug({ checkpoint: name }, 'another follower holds the lease; skipping this pass');
        return null;
      }
      await failAbandonedRuns(deps.db);
      const cp = await deps.db
        .selectFrom('ingest_checkpoints')
        .select('position')
        .where('name', '=', name)
        .executeTakeFirst();
      const end = Math.floor(now().getTime() / 1000) * 1000;
      const start = cp?.position ? cp.position.getTime() - overlap : end - lookback;
      if (start >= end) return [];
      const summaries = await backfill(
        deps,
        { from: new Date(start), to: new Date(end) },
        {
          kind: 'follow',
          checkpointName: name,
          resume: false,
          onRun: options.onRun,
          concurrency: 2,
          batchSize: options.batchSize,
          pollIntervalMs: options.pollIntervalMs,
          progressBar: options.progressBar ?? false,
          signal: abort.signal,
          shouldStop: () => stopping,
          client,
        },
      );
      if (options.seal && !stopping)
        await sealClosedPeriods(deps.pool, {
          closedBefore: closedBefore(now(), overlap + options.seal.graceSeconds * 1000),
          signingKey: options.seal.signingKey,
          logger: deps.logger,
        });
      if (options.detect && options.detect.rules.length > 0 && !stopping) {
        const outcome = await detectFindings(
          deps.pool,
          { from: new Date(start), to: new Date(end) },
          options.detect,
          deps.logger,
          options.detectHooks ?? {},
          { clientDirectory: options.clientDirectory },
        );
        options.onDetected?.(outcome);
      }
      if (options.retentionDays) await applyRetention(deps, { olderThanDays: options.retentionDays });
      return summaries;
    } finally {
      if (locked)
        await client.query('select pg_advisory_unlock(hashtext($1))', [leaseKey(name)]).catch(() => undefined);
      client.release();
    }
  }

  function runOnce(): Promise<RunSummary[] | null> {
    const p = (current ?? Promise.resolve()).catch(() => undefined).then(() => pass());
    current = p;
    return p;
  }

  function schedule(delay: number): void {
    if (stopping) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err) => deps.logger?.error({ err }, 'follower pass failed; retrying at the next interval'))
        .finally(() => schedule(interval));
    }, delay);
  }

  if (options.autoStart !== false) schedule(0);

  return {
    runOnce,
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      abort.abort();
      await current?.catch(() => undefined);
    },
  };
}
