import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type Config } from '../config';
import { createDatabase } from '../db/connection';
import { migrateToLatest } from '../db/migrate';
import { locateStore } from '../db/store';
import { createLogger } from '../logger';
import { importFiles } from './import-files';
import type { IngestDeps } from './ingest-deps';
import { formatRunSummary, type RunSummary } from './ingest-run';
import { applyRetention } from './retention';

interface StoreSession {
  config: Config;
  deps: IngestDeps;
}

/** Opens the store (DATABASE_URL or embedded), migrates it, runs `work`, and closes everything. */
async function withStore<T>(work: (s: StoreSession) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, { component: 'ingest' });
  const store = await locateStore(config);
  const handle = createDatabase({ url: store.url, poolSize: Math.max(3, Math.min(config.dbPoolSize, 5)) });
  try {
    await migrateToLatest(handle.db);
    return await work({ config, deps: { db: handle.db, pool: handle.pool, logger } });
  } finally {
    await handle.destroy();
    await store.stop();
  }
}

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1, got "${v}"`);
    return Number(v);
  };
}

/** Parses `400d`, `400` (days), `12w` or `6m` (months of 30 days) into days. */
export function parseAge(text: string): number {
  const m = /^(\d+)\s*(d|w|m)?$/i.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw new InvalidArgumentError(`--older-than must look like 400d (days), 12w or 6m, got "${text}"`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 'd').toLowerCase();
  return unit === 'w' ? n * 7 : unit === 'm' ? n * 30 : n;
}

function report(summaries: RunSummary[]): void {
  for (const s of summaries) process.stdout.write(`${formatRunSummary(s)}\n`);
  const failed = summaries.filter((s) => s.state === 'failed');
  if (failed.length > 0) throw new Error(`${failed.length} of ${summaries.length} run(s) failed: ${failed.map((f) => f.error).join('; ')}`);
}

/** Registers `import <file...>`, `ingest --from/--to | --follow` and `retention --older-than`. */
export function registerIngestCommands(program: Command): void {
  program
    .command('import')
    .description('import local DPoD audit export files (gzip, zip or plain; JSON Lines or a JSON array); re-importing adds nothing')
    .argument('<file...>', 'export files')
    .option('--batch-size <n>', 'rows per insert transaction', positiveInt('--batch-size'), 10_000)
    .option('--no-progress', 'never draw a progress bar (JSON log lines instead)')
    .action(async (files: string[], opts: { batchSize: number; progress: boolean }) => {
      await withStore(async ({ deps }) => {
        report(await importFiles(deps, files, { batchSize: opts.batchSize, progressBar: opts.progress ? undefined : false }));
      });
    });

  program
    .command('retention')
    .description('drop month partitions (and their hourly rollups) older than the given age')
    .requiredOption('--older-than <age>', 'e.g. 400d', parseAge)
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
