import { createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import { openStore } from '../bootstrap/open-store';
import { runCommand } from '../bootstrap/run-command';
import { loadConfig, type Config } from '../config';
import { parseAuditTime } from '../ingest/audit-time';
import { createLogger } from '../logger';
import { buildDigest, checkDigest, parseDigest, parseSealedEvent, type OfflineReport } from './digest';
import type { SealedEvent } from './event-leaf';
import { closedBefore } from './seal-record';
import { sealClosedPeriods } from './sealer';
import { parsePublicKey } from './signing-key';
import { verifyStore, type PeriodReport } from './verifier';
import { checkManifest, MANIFEST_FORMAT, type ExportManifest } from '../export/export-manifest';

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

/** A public key given on the command line: its PEM or JWK text, or the path of a file holding it. */
function publicKeyArgument(value: string): KeyObject {
  const text =
    !value.trim().startsWith('{') && !value.includes('-----BEGIN') && existsSync(value)
      ? readFileSync(value, 'utf8')
      : value;
  try {
    return parsePublicKey(text).key;
  } catch (err) {
    throw new InvalidArgumentError(
      `is not a public key (PEM, JWK or a file holding one): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

async function readEvents(path: string): Promise<SealedEvent[]> {
  const events: SealedEvent[] = [];
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() !== '') events.push(parseSealedEvent(line, n));
  }
  return events;
}

function printOffline(report: OfflineReport, all: boolean): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (report.key)
    out(
      report.key.fromDigest
        ? `signatures checked with the key the digest names (fingerprint ${report.key.fingerprint}): compare it with the fingerprint published for this service, or pass --public-key`
        : `signatures checked with the trusted key (fingerprint ${report.key.fingerprint})`,
    );
  else out('signatures not checked: the digest names no key (its seals are unsigned)');
  for (const problem of report.chainProblems) out(`CHAIN ${problem}`);
  for (const p of report.periods)
    if (all || p.status !== 'SEALED')
      out(
        `${p.status} ${p.periodStart} service ${p.serviceId} (seal v${p.version}, ${p.sealedCount} event(s))${p.problem ? `: ${p.problem}` : ''}`,
      );
  for (const u of report.unsealed)
    out(
      `UNSEALED ${u.periodStart} service ${u.serviceId}: ${u.count} event(s) in a closed period the digest has no seal for`,
    );
  const bad = report.periods.filter((p) => p.status !== 'SEALED').length;
  out(
    `${report.periods.length - bad} period(s) verified, ${bad} mismatch(es), ${report.unsealed.length} unsealed, ${report.chainProblems.length} chain problem(s), ${report.outside} event(s) outside the digest`,
  );
}

/** Registers `seal`, `verify` and `digest`. */
interface VerifyArgs {
  from?: Date;
  to?: Date;
  service?: string[];
  publicKey?: string;
  all?: boolean;
  digest?: string;
  events?: string;
  manifest?: string;
  export?: string;
}

async function verifyOffline(opts: VerifyArgs): Promise<void> {
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info', { component: 'integrity' });
  await runCommand(logger, async () => {
    if (!opts.digest || !opts.events)
      throw new Error('an offline check needs both --digest <file> and --events <file>');
    if (opts.from || opts.to || opts.service)
      throw new Error('--from, --to and --service do not apply offline: the digest says what it covers');
    const digest = parseDigest(readFileSync(opts.digest, 'utf8'));
    const events = await readEvents(opts.events);
    const report = checkDigest(digest, events, opts.publicKey ? publicKeyArgument(opts.publicKey) : undefined);
    printOffline(report, opts.all ?? false);
    if (!report.verified)
      throw new Error('verification failed: the events do not match the digest, or the digest does not verify');
  });
}

async function verifyExportOffline(opts: VerifyArgs): Promise<void> {
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info', { component: 'integrity' });
  await runCommand(logger, async () => {
    if (!opts.manifest || !opts.export)
      throw new Error('checking an export needs both --manifest <file> and --export <file>');
    if (opts.digest || opts.events || opts.from || opts.to || opts.service)
      throw new Error('--digest, --events, --from, --to and --service do not apply to an export check');
    const manifest = JSON.parse(await readFile(opts.manifest, 'utf8')) as ExportManifest;
    if (manifest.format !== MANIFEST_FORMAT) throw new Error(`${opts.manifest} is not an export manifest`);
    if (!existsSync(opts.export)) throw new Error(`${opts.export} does not exist`);
    const report = await checkManifest(
      manifest,
      createReadStream(opts.export),
      opts.publicKey ? publicKeyArgument(opts.publicKey) : undefined,
    );
    process.stdout.write(
      report.keyFingerprint
        ? `key ${report.keyFingerprint}${opts.publicKey ? '' : ' (named by the manifest itself: compare it with the one you trust)'}\n`
        : 'no key: the manifest and the seals are unsigned, so only their agreement with the file is checked\n',
    );
    for (const problem of report.problems) process.stdout.write(`PROBLEM ${problem}\n`);
    process.stdout.write(
      `${manifest.file.events} event(s), ${report.sealed} sealed period(s) verified, ${report.unsealed} not sealed when exported, ${report.problems.length} problem(s)\n`,
    );
    if (!report.verified) throw new Error('verification failed: the export does not match its manifest or its seals');
  });
}

export function registerIntegrityCommands(program: Command): void {
  program
    .command('seal')
    .description('seal every closed hour now (the follower and the ingest commands also seal after each pass)')
    .action(async () => {
      await withPool(async (config, pool) => {
        const margin = (config.ingest.overlapSeconds + config.integrity.graceSeconds) * 1000;
        const started = performance.now();
        const outcome = await sealClosedPeriods(pool, {
          closedBefore: closedBefore(new Date(), margin),
          signingKey: config.integrity.signingKey,
        });
        process.stdout.write(
          `sealed ${outcome.sealed} period(s), ${outcome.amended} new version(s), ${outcome.skipped.length} left unsealed (changed outside ingest: run verify) in ${((performance.now() - started) / 1000).toFixed(2)}s\n`,
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
    .option('--digest <file>', 'check a digest file and an events file offline, without the database')
    .option('--events <file>', 'with --digest: the exported events (one sealed event per line)')
    .option('--manifest <file>', 'check an export file against its manifest offline, without the database')
    .option('--export <file>', 'with --manifest: the exported file (CSV or NDJSON, as the manifest says)')
    .action(async (opts: VerifyArgs) => {
      if (opts.manifest || opts.export) return verifyExportOffline(opts);
      if (opts.digest || opts.events) return verifyOffline(opts);
      await withPool(async (config, pool) => {
        const publicKey = opts.publicKey
          ? publicKeyArgument(opts.publicKey)
          : config.integrity.signingKey
            ? createPublicKey(config.integrity.signingKey.publicKey.pem)
            : null;
        const margin = (config.ingest.overlapSeconds + config.integrity.graceSeconds) * 1000;
        const started = performance.now();
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
          `${sealed} period(s) verified, ${bad} mismatch(es), ${report.chainProblems.length} chain problem(s)${publicKey ? '' : ' (signatures not checked: no public key)'} in ${((performance.now() - started) / 1000).toFixed(2)}s\n`,
        );
        if (!report.verified)
          throw new Error(
            `verification failed: ${bad} period(s) and ${report.chainProblems.length} seal(s) do not verify`,
          );
      });
    });

  program
    .command('digest')
    .description('write a self-contained digest of the seals of a range (JSON, on stdout) for an offline check')
    .option('--from <time>', 'first hour covered (UTC)', instant)
    .option('--to <time>', 'end of the range (exclusive)', instant)
    .option('--service <id...>', 'only these services')
    .option('--events-out <file>', "also write the covered periods' events, one sealed event per line (NDJSON)")
    .action(async (opts: { from?: Date; to?: Date; service?: string[]; eventsOut?: string }) => {
      await withPool(async (config, pool) => {
        const file = opts.eventsOut ? createWriteStream(opts.eventsOut) : null;
        const margin = (config.ingest.overlapSeconds + config.integrity.graceSeconds) * 1000;
        const digest = await buildDigest(pool, {
          from: opts.from,
          to: opts.to,
          serviceIds: opts.service,
          closedBefore: closedBefore(new Date(), margin),
          publicKey: config.integrity.signingKey?.publicKey ?? null,
          onEvents: file
            ? async (events) => {
                if (!file.write(events.map((e) => `${JSON.stringify(e)}\n`).join(''))) await once(file, 'drain');
              }
            : undefined,
        });
        if (file) {
          file.end();
          await once(file, 'finish');
        }
        process.stdout.write(`${JSON.stringify(digest, null, 2)}\n`);
      });
    });
}
