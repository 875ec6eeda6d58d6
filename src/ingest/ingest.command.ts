import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type Config } from '../config';
import { openStore } from '../bootstrap/open-store';
import { runCommand } from '../bootstrap/run-command';
import { createLogger } from '../logger';
import { createDpodClient } from '../dpod';
import { dpodClientDirectory } from '../detect';
import { closedBefore, sealClosedPeriods } from '../integrity';
import { parseAuditTime } from './audit-time';
import { backfill } from './backfill';
import { startFollower } from './follower';
import { importFiles } from './import-files';
import type { IngestDeps } from './ingest-deps';
import { formatRunSummary, type RunSummary } from './ingest-run';
import { applyRetention } from './retention';
import { startFollowerWebhooks } from '../webhooks';

interface StoreSession {
  config: Config;
  deps: IngestDeps;
  /** Resolves with the first SIGTERM/SIGINT (the follower runs until then). */
  signalled: Promise<NodeJS.Signals>;
  /** Adds a step to the shutdown, run before the pool closes and the embedded PostgreSQL stops. */
  onStop: (name: string, step: () => Promise<unknown>) => void;
}

/** Runs `work` in the one bootstrap: store (DATABASE_URL or embedded), pool, migrations (unless a newer version has), one signal path. */
async function withStore<T>(work: (s: StoreSession) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, { component: 'ingest' }, config.logFormat);
  return runCommand(logger, async ({ stack, signalled }) => {
    // A newer version may already have migrated the database (mid-upgrade): use it as it is.
    const { primary } = await openStore(config, stack, {
      logger,
      primary: { poolSize: Math.max(3, Math.min(config.dbPoolSize, 5)) },
      migrate: 'unless-ahead',
    });
    const deps = { db: primary.db, pool: primary.pool, logger };
    return work({ config, deps, signalled, onStop: (name, step) => stack.add(name, step) });
  });
}

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < 1)
      throw new InvalidArgumentError(`${name} must be a whole number >= 1, got "${v}"`);
    return Number(v);
  };
}

/** Parses `400d`, `400` (days), `12w` or `6m` (months of 30 days) into days. */
export function parseAge(text: string): number {
  const m = /^(\d+)\s*(d|w|m)?$/i.exec(text.trim());
  if (!m || Number(m[1]) < 1)
    throw new InvalidArgumentError(`--older-than must look like 400d (days), 12w or 6m, got "${text}"`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 'd').toLowerCase();
  return unit === 'w' ? n * 7 : unit === 'm' ? n * 30 : n;
}

/** Parses `2026-11-01`, `2026-11-01T00:00:00Z` or DPoD's `2026-11-01 00:00:00 UTC`. */
export function parseInstant(text: string): Date {
  const ms = parseAuditTime(/^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? `${text.trim()}T00:00:00Z` : text);
  if (Number.isNaN(ms))
    throw new InvalidArgumentError(`"${text}" is not a time; use e.g. 2026-11-01 or 2026-11-01T12:00:00Z`);
  return new Date(ms);
}

/** Seals the hours an import or a backfill closed (see src/integrity/). */
async function sealAfterIngest(config: Config, deps: IngestDeps): Promise<void> {
  await sealClosedPeriods(deps.pool, {
    closedBefore: closedBefore(new Date(), (config.ingest.overlapSeconds + config.integrity.graceSeconds) * 1000),
    signingKey: config.integrity.signingKey,
    logger: deps.logger,
  });
}

function report(summaries: RunSummary[]): void {
  for (const s of summaries) process.stdout.write(`${formatRunSummary(s)}\n`);
  const failed = summaries.filter((s) => s.state === 'failed');
  if (failed.length > 0)
    throw new Error(`${failed.length} of ${summaries.length} run(s) failed: ${failed.map((f) => f.error).join('; ')}`);
}

/** Registers `import <file...>`, `ingest --from/--to | --follow` and `retention --older-than`. */
export function registerIngestCommands(program: Command): void {
  program
    .command('import')
    .description(
      'import local DPoD audit export files (gzip, zip or plain; JSON Lines or a JSON array); re-importing adds nothing',
    )
    .argument('<file...>', 'export files')
    .option('--batch-size <n>', 'rows per insert transaction', positiveInt('--batch-size'), 5_000)
    .option('--no-progress', 'never draw a progress bar (JSON log lines instead)')
    .option('--no-seal', 'do not seal the closed hours afterwards (the next follower pass or `dpod-audit seal` will)')
    .action(async (files: string[], opts: { batchSize: number; progress: boolean; seal: boolean }) => {
      await withStore(async ({ config, deps }) => {
        const summaries = await importFiles(deps, files, {
          batchSize: opts.batchSize,
          leaves: opts.seal,
          progressBar: opts.progress ? undefined : false,
        });
        if (opts.seal) await sealAfterIngest(config, deps);
        report(summaries);
      });
    });

  program
    .command('ingest')
    .description(
      'ingest through the DPoD Audit Query API (needs DPOD_API_URL, DPOD_TOKEN_URL, DPOD_CLIENT_ID, DPOD_CLIENT_SECRET): a backfill of --from .. --to (windows of at most 31 days, resumable), or --follow',
    )
    .option(
      '--from <time>',
      'start of the range (inclusive; UTC, a bare date is midnight; DPoD keeps 12 months), e.g. 2026-11-01',
      parseInstant,
    )
    .option('--to <time>', 'end of the range (exclusive; not in the future), e.g. 2026-11-25T00:00:00Z', parseInstant)
    .option(
      '--follow',
      'every INGEST_INTERVAL_SECONDS, ingest from the last checkpoint (the first pass: the last 24 h) to now, until stopped',
    )
    .option('--window-days <n>', 'days per export window (at most 31)', positiveInt('--window-days'), 31)
    .option('--concurrency <n>', 'exports requested ahead', positiveInt('--concurrency'), 3)
    .option('--batch-size <n>', 'rows per insert transaction', positiveInt('--batch-size'), 5_000)
    .option('--no-progress', 'never draw a progress bar (JSON log lines instead)')
    .action(
      async (
        opts: {
          from?: Date;
          to?: Date;
          follow?: boolean;
          windowDays: number;
          concurrency: number;
          batchSize: number;
          progress: boolean;
        },
        cmd: Command,
      ) => {
        if (opts.follow && (opts.from || opts.to))
          cmd.error('error: --follow cannot be combined with --from/--to', { exitCode: 2 });
        if (!opts.follow && !(opts.from && opts.to))
          cmd.error('error: give --from and --to (a backfill) or --follow', { exitCode: 2 });
        if (opts.from && opts.to && opts.from.getTime() >= opts.to.getTime())
          cmd.error('error: --from must be before --to', { exitCode: 2 });
        // A backfill's checkpoint ends at --to: a future --to would mark time as done before DPoD has it.
        if (opts.to && opts.to.getTime() > Date.now())
          cmd.error('error: --to is in the future; DPoD has no records after now (use --follow to keep up)', {
            exitCode: 2,
          });
        if (opts.windowDays > 31)
          cmd.error('error: --window-days is at most 31 (the Audit Query API limit)', { exitCode: 2 });
        await withStore(async ({ config, deps, signalled, onStop }) => {
          const dpod = createDpodClient(config);
          const full = { ...deps, dpod };
          const print = (s: RunSummary) => process.stdout.write(`${formatRunSummary(s)}\n`);
          if (!opts.follow) {
            const summaries = await backfill(
              full,
              { from: opts.from!, to: opts.to! },
              {
                windowDays: opts.windowDays,
                concurrency: opts.concurrency,
                batchSize: opts.batchSize,
                progressBar: opts.progress ? undefined : false,
                onRun: print,
              },
            );
            await sealAfterIngest(config, full);
            const failed = summaries.find((s) => s.state === 'failed');
            if (failed)
              throw new Error(
                `window ${failed.windowFrom?.toISOString()} failed: ${failed.error}; rerun the same command to resume`,
              );
            return;
          }
          const webhooks = startFollowerWebhooks(deps.pool, config.webhooks, {
            logger: deps.logger?.child({ component: 'webhooks' }),
          });
          if (webhooks) onStop('webhook deliverer stop', () => webhooks.stop());
          const follower = startFollower(full, {
            intervalSeconds: config.ingest.intervalSeconds,
            overlapSeconds: config.ingest.overlapSeconds,
            retentionDays: config.ingest.retentionDays,
            seal: config.integrity,
            detect: config.detection,
            ...webhooks?.follower,
            clientDirectory: dpodClientDirectory(dpod),
            batchSize: opts.batchSize,
            progressBar: opts.progress ? undefined : false,
            onRun: print,
          });
          // A signal stops the follower after its current batch, then the pool and the embedded PostgreSQL.
          onStop('follower stop', () => follower.stop());
          const signal = await signalled;
          deps.logger?.debug({ signal }, 'the follower stops after its current batch');
        });
      },
    );

  program
    .command('retention')
    .description('drop month partitions (and their hourly rollups) older than the given age')
    .requiredOption(
      '--older-than <age>',
      '400d (days), 12w (weeks) or 6m (30-day months); the follower uses RETENTION_DAYS',
      parseAge,
    )
    .action(async (opts: { olderThan: number }) => {
      await withStore(async ({ deps }) => {
        const r = await applyRetention(deps, { olderThanDays: opts.olderThan });
        process.stdout.write(
          `retention older than ${opts.olderThan}d (before ${r.cutoff.toISOString()}): dropped ${r.droppedPartitions.length} partition(s)` +
            `${r.droppedPartitions.length ? ` (${r.droppedPartitions.join(', ')})` : ''}, ${r.rollupsDeleted} rollup row(s), ${r.defaultPartitionRows} default-partition row(s)\n`,
        );
      });
    });
}
