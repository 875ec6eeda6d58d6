import { generateKeyPairSync } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type Config } from '../../config';
import { backfill, type RunSummary } from '../../ingest/index';
import { createLogger, type Logger } from '../../logger';
import { startSimulator, type RunningSimulator } from '../../simulator/index';
import type { App } from '../app';
import { createDemoProgress } from './demo-progress';
import { runCommand } from '../../bootstrap/run-command';

const DAY_MS = 86_400_000;

/** Size of the in-process simulator: small enough to ingest in seconds; with its incidents (docs/simulator.md#incidents). */
export const DEMO_SIMULATOR = {
  seed: 42,
  services: 3,
  clientsPerService: 4,
  eventsPerDay: 1500,
  incidents: true,
} as const;

const days = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 31)
    throw new InvalidArgumentError('must be a whole number of days between 1 and 31');
  return Number(value);
};

/** The sample query printed at start (the deep traversal). */
export const DEMO_QUERY =
  '{ services(first: 3) { nodes { id name clients(first: 3) { nodes { id name bound actions(first: 3) { totalCount nodes { time action status meta { clientIp objectIds } } } } } } } }';

/** Backfills `[now - days, now)` in one-day export windows (a few requested ahead), with a progress bar; returns events inserted. */
async function backfillRecentDays(app: App, dayCount: number, now: Date, logger: Logger): Promise<number> {
  const progress = createDemoProgress(dayCount, logger);
  let inserted = 0;
  let windows = 0;
  let summaries: RunSummary[];
  try {
    summaries = await backfill(
      {
        db: app.ingestDatabase.db,
        pool: app.ingestDatabase.pool,
        dpod: app.dpod!,
        logger: logger.child({ component: 'ingest' }),
      },
      { from: new Date(now.getTime() - dayCount * DAY_MS), to: now },
      {
        windowDays: 1,
        pollIntervalMs: 200,
        progressBar: false,
        onRun: (summary) => {
          inserted += summary.inserted;
          progress.step(++windows, inserted);
        },
      },
    );
  } finally {
    progress.stop();
  }
  const failed = summaries.find((s) => s.state !== 'succeeded');
  if (failed)
    throw new Error(
      `ingesting ${failed.windowFrom?.toISOString()}..${failed.windowTo?.toISOString()} failed: ${failed.error ?? failed.state}`,
    );
  return inserted;
}

function banner(url: string, config: Config, sim: RunningSimulator | null, events: number): string {
  const curl = `curl -s ${url}/graphql -H 'content-type: application/json' -d '${JSON.stringify({ query: DEMO_QUERY })}'`;
  return [
    '',
    `  DPoD audit gateway demo is up: ${url}/graphql`,
    `  Open it in a browser for GraphiQL (schema docs + example queries), or try:`,
    '',
    `    ${curl}`,
    '',
    `  Overview (charts and open findings, filters kept in the URL): ${url}/overview`,
    `  ${events.toLocaleString('en')} audit events ingested${sim ? ` from the built-in DPoD simulator (${sim.url})` : ''}; the follower keeps polling every ${config.ingest.intervalSeconds}s.`,
    `  Health: ${url}/readyz   Metrics: ${url}/metrics   Stop: Ctrl+C`,
    config.auth.mode === 'jwt' ? '  AUTH_MODE=jwt: send "Authorization: Bearer <JWT with scope audit:read>".' : '',
    '',
  ].join('\n');
}

/** What the demo says about seals: the public key an auditor checks them with, or that they are unsigned. */
function sealBanner(config: Config, madeForDemo: boolean): string {
  const key = config.integrity.signingKey?.publicKey;
  if (!key)
    return '  Seals: chained but unsigned (set INTEGRITY_SIGNING_KEY to sign them); check them with `dpod-audit verify`.\n\n';
  return [
    `  Seals: signed with ${madeForDemo ? 'a key made for this demo run' : 'INTEGRITY_SIGNING_KEY'} (fingerprint ${key.fingerprint}); its public key:`,
    ...key.pem
      .trim()
      .split('\n')
      .map((line) => `    ${line}`),
    '',
    '',
  ].join('\n');
}

/** `dpod-audit demo` (what `npm start` runs): embedded PostgreSQL, in-process simulator, backfill, follower, server. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'one-command demo: embedded PostgreSQL (unless DATABASE_URL), the DPoD simulator (unless DPOD_API_URL), ingest, follow and serve',
    )
    .option('--days <n>', 'days of audit history to ingest before serving', days, 7)
    .option('--port <port>', 'listen port (overrides PORT)')
    .action(async (flags: { days: number; port?: string }) => {
      // On the throwaway embedded store, seals are signed with a key made for this run (printed below); a store that
      // outlives the demo (DATABASE_URL) keeps to the operator's INTEGRITY_SIGNING_KEY, or stays unsigned.
      const demoKey =
        !process.env.INTEGRITY_SIGNING_KEY && !process.env.DATABASE_URL
          ? generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
          : null;
      const config = loadConfig({
        ...process.env,
        ...(demoKey ? { INTEGRITY_SIGNING_KEY: demoKey } : {}),
        ...(flags.port ? { PORT: flags.port } : {}),
      });
      const logger = createLogger(config.logLevel, {}, config.logFormat);
      await runCommand(logger, async ({ stack, signalled }) => {
        let sim: RunningSimulator | null = null;
        if (!config.dpod.apiUrl) {
          const started = await startSimulator({ ...DEMO_SIMULATOR, days: flags.days });
          stack.add('simulator stop', () => started.stop());
          sim = started;
          logger.info(
            { url: sim.url, ...DEMO_SIMULATOR },
            'started the DPoD simulator in-process (DPOD_API_URL is unset)',
          );
        }
        const { createApp } = await import('../app');
        const app = createApp(config, {
          logger,
          follow: true,
          // The backfill just stored everything up to now: the follower only needs the late-record margin.
          follower: { initialLookbackSeconds: config.ingest.overlapSeconds },
          dpod: sim
            ? { apiUrl: sim.url, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret }
            : undefined,
        });
        stack.add('app stop', () => app.stop());
        await app.prepare();
        const now = sim ? sim.tenant.now() : new Date();
        const events = await backfillRecentDays(app, flags.days, now, logger);
        // The detection rules over the backfilled days (the follower runs them on each later pass).
        const { detectRange, dpodClientDirectory } = await import('../../detect');
        const found = await detectRange(
          app.ingestDatabase.pool,
          { from: new Date(now.getTime() - flags.days * DAY_MS), to: now },
          config.detection,
          { logger, clientDirectory: app.dpod ? dpodClientDirectory(app.dpod, () => now) : undefined },
        );
        logger.info({ raised: found.raised }, 'detection rules run over the backfilled days');
        const url = await app.start();
        process.stdout.write(banner(url, config, sim, events) + sealBanner(config, demoKey !== null));
        await signalled;
      });
    });
}
