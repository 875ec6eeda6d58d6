import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { GraphQLError } from 'graphql';
import { sql } from 'kysely';
import { openStore } from '../bootstrap/open-store';
import { runCommand } from '../bootstrap/run-command';
import { loadConfig } from '../config';
import { UNRESTRICTED } from '../graphql/auth-scope';
import { filterCondition, normalizeFilter } from '../graphql/audit/audit-filter';
import { createLogger } from '../logger';
import { HttpError } from '../server/http/http-errors';
import { exportChunks, type ExportSummary } from './event-export';
import { buildManifest } from './export-manifest';
import { parseExportRequest } from './export-route';

/**
 * Registers `export --filter '<AuditEventFilter JSON>' --format csv|ndjson [--order]`: the same file as GET /export,
 * written to stdout straight from the store (whoever can reach the database may read every service); a progress bar
 * on stderr when it is a terminal, the SHA-256 and count on stderr at the end.
 */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write the events of a filter as CSV or NDJSON to stdout (docs/export.md)')
    .option(
      '--filter <json>',
      'an AuditEventFilter as JSON, e.g. \'{"succeeded":false,"from":"2026-11-01T00:00:00Z"}\'',
      '{}',
    )
    .option('--format <format>', 'csv or ndjson', 'csv')
    .option('--order <order>', 'TIME_ASC or TIME_DESC', 'TIME_ASC')
    .option('--no-progress', 'no progress bar even on a terminal')
    .option('--manifest <file>', "also write the file's manifest: its SHA-256, its periods and their seals (signed)")
    .action(
      async (
        opts: { filter: string; format: string; order: string; progress: boolean; manifest?: string },
        cmd: Command,
      ) => {
        let request;
        try {
          request = parseExportRequest({
            format: opts.format,
            order: opts.order,
            filter: JSON.parse(opts.filter) as unknown,
          });
        } catch (err) {
          const message = err instanceof HttpError ? err.message : `--filter is not JSON: ${(err as Error).message}`;
          cmd.error(`error: ${message}`, { exitCode: 2 });
        }
        let filter;
        try {
          filter = normalizeFilter(request.filter, UNRESTRICTED);
        } catch (err) {
          if (err instanceof GraphQLError) cmd.error(`error: ${err.message}`, { exitCode: 2 });
          throw err;
        }
        const config = loadConfig(process.env);
        const logger = createLogger(config.logLevel, { component: 'export' }, config.logFormat);
        await runCommand(logger, async ({ stack }) => {
          const { primary } = await openStore(config, stack, {
            logger,
            primary: { poolSize: 2 },
            migrate: 'unless-ahead',
          });
          const tty = opts.progress && Boolean(process.stderr.isTTY);
          let bar: cliProgress.SingleBar | null = null;
          if (tty) {
            const { rows } = await sql<{ n: string }>`
            select count(*)::text as n from audit_events e where ${filterCondition(filter, 'e')}`.execute(primary.db);
            bar = new cliProgress.SingleBar(
              {
                stream: process.stderr,
                format: 'export |{bar}| {value}/{total} events | ETA {eta_formatted}',
                hideCursor: true,
              },
              cliProgress.Presets.shades_classic,
            );
            bar.start(Number(rows[0]!.n), 0);
          }
          let summary: ExportSummary = { events: 0, sha256: '', periods: [] };
          const chunks = exportChunks(() => primary.pool.connect(), filter, request.format, request.order, {
            progress: (events) => bar?.update(Math.min(events, bar.getTotal())),
            done: (s) => (summary = s),
          });
          for await (const chunk of chunks) {
            if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
          }
          bar?.stop();
          process.stderr.write(`${summary.events} event(s), sha256 ${summary.sha256}\n`);
          if (opts.manifest) {
            const manifest = await buildManifest({
              connect: () => primary.pool.connect(),
              request,
              filter,
              summary,
              signingKey: config.integrity.signingKey,
            });
            writeFileSync(opts.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
            process.stderr.write(
              `manifest ${opts.manifest}: ${manifest.periods.length} period(s), ${manifest.periods.filter((p) => p.seal).length} sealed, ${manifest.signature ? `signed by ${manifest.publicKey!.fingerprint}` : 'unsigned (no INTEGRITY_SIGNING_KEY)'}\n`,
            );
          }
        });
      },
    );
}
