import { createPublicKey } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { openStore } from '../bootstrap/open-store';
import { runCommand } from '../bootstrap/run-command';
import { loadConfig, type Config } from '../config';
import { parseAuditTime } from '../ingest/audit-time';
import { createLogger } from '../logger';
import { closedBefore } from './seal-record';
import { sealClosedPeriods } from './sealer';
import { parsePublicKey } from './signing-key';
import { verifyStore, type PeriodReport } from './verifier';

function instant(text: string): Date {
  const ms = parseAuditTime(/^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? `${text.trim()}T00:00:00Z` : text);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`"${text}" is not a time; use e.g. 2026-11-01T12:00:00Z`);
  return new Date(ms);
}

async function withPool<T>(work: (config: Config, pool: import('pg').Pool) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, { component: 'integrity' }, config.logFormat);
  return runCommand(logger, async ({ stack }) => {
    const { primary } = await openStore(config, stack, { logger, primary: { poolSize: 2 }, migrate: 'unless-ahead' });
    return work(config, primary.pool);
  });
}

function describe(p: PeriodReport): string {
  const at = `${p.periodStart.toISOString()} service ${p.serviceId}`;
  return p.status === 'MISMATCH'
    ? `MISMATCH ${at} (seal v${p.version}, ${p.eventCount} event(s)): ${p.problem ?? ''}`
    : `${p.status} ${at} (seal v${p.version}, ${p.eventCount} event(s))`;
}

/** Registers `seal` and `verify`. */
export function registerIntegrityCommands(program: Command): void {
  program
    .command('seal')
    .description('seal every closed hour now (the follower and the ingest commands also seal after each pass)')
    .action(async () => {
      await withPool(async (config, pool) => {
        const margin = (config.ingest.overlapSeconds + config.integrity.graceSeconds) * 1000;
        const outcome = await sealClosedPeriods(pool, {
          closedBefore: closedBefore(new Date(), margin),
          signingKey: config.integrity.signingKey,
        });
        process.stdout.write(
          `sealed ${outcome.sealed} period(s), ${outcome.amended} new version(s), ${outcome.skipped.length} left unsealed (changed outside ingest: run verify)\n`,
        );
      });
    });

  program
    .command('verify')
    .description(
      'recompute the sealed periods from the stored events and check the chain of seals; exit 1 on any mismatch',
    )
    .option('--from <time>', 'first hour to check (UTC)', instant)
    .option('--to <time>', 'end of the range (exclusive)', instant)
    .option('--service <id...>', 'only these services')
    .option('--public-key <pem-or-jwk>', 'check every signature with this key (default: the INTEGRITY_SIGNING_KEY one)')
    .option('--all', 'list every period, not only those that do not verify')
    .action(async (opts: { from?: Date; to?: Date; service?: string[]; publicKey?: string; all?: boolean }) => {
      await withPool(async (config, pool) => {
        const publicKey = opts.publicKey
          ? parsePublicKey(opts.publicKey).key
          : config.integrity.signingKey
            ? createPublicKey(config.integrity.signingKey.publicKey.pem)
            : null;
        const margin = (config.ingest.overlapSeconds + config.integrity.graceSeconds) * 1000;
        const report = await verifyStore(pool, {
          from: opts.from,
          to: opts.to,
          serviceIds: opts.service,
          closedBefore: closedBefore(new Date(), margin),
          publicKey,
        });
        for (const problem of report.chainProblems) process.stdout.write(`CHAIN ${problem}\n`);
        for (const p of report.periods)
          if (opts.all || p.status === 'MISMATCH') process.stdout.write(`${describe(p)}\n`);
        const bad = report.periods.filter((p) => p.status === 'MISMATCH').length;
        const sealed = report.periods.filter((p) => p.status === 'SEALED').length;
        process.stdout.write(
          `${sealed} period(s) verified, ${bad} mismatch(es), ${report.chainProblems.length} chain problem(s)${publicKey ? '' : ' (signatures not checked: no public key)'}\n`,
        );
        if (!report.verified)
          throw new Error(
            `verification failed: ${bad} period(s) and ${report.chainProblems.length} seal(s) do not verify`,
          );
      });
    });
}
