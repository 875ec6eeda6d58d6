import type { Command } from 'commander';
import { openStore } from '../bootstrap/open-store';
import { runCommand } from '../bootstrap/run-command';
import { loadConfig } from '../config';
import { parseInstant } from '../ingest/ingest.command';
import { createLogger } from '../logger';
import { webhookOutboxHooks } from '../webhooks';
import { createDpodClient } from '../dpod';
import { RULE_CODES } from './catalog';
import { dpodClientDirectory } from './client-directory';
import { detectRange } from './detect-pass';

/** Registers `detect --from --to`: the detection rules over stored events (a backfill; the follower runs them too). */
export function registerDetectCommands(program: Command): void {
  program
    .command('detect')
    .description(
      'run the detection rules (DETECT_RULES) over the stored events of --from .. --to, a day per pass; findings already raised are extended, never raised twice',
    )
    .requiredOption('--from <time>', 'start (inclusive; UTC, a bare date is midnight)', parseInstant)
    .requiredOption('--to <time>', 'end (exclusive)', parseInstant)
    .option(
      '--no-webhooks',
      'do not enqueue the findings raised for WEBHOOK_URLS (a backfill of old history); by default they are, and the process running the follower sends them',
    )
    .action(async (opts: { from: Date; to: Date; webhooks: boolean }, cmd: Command) => {
      if (opts.from.getTime() >= opts.to.getTime()) cmd.error('error: --from must be before --to', { exitCode: 2 });
      const config = loadConfig(process.env);
      const logger = createLogger(config.logLevel, { component: 'detect' }, config.logFormat);
      await runCommand(logger, async ({ stack }) => {
        const { primary } = await openStore(config, stack, {
          logger,
          primary: { poolSize: 2 },
          migrate: 'unless-ahead',
        });
        const started = performance.now();
        const days = Math.ceil((opts.to.getTime() - opts.from.getTime()) / 86_400_000);
        let done = 0;
        // UNBOUND_CLIENT_ACTIVITY needs DPoD's bindings: without DPOD_API_URL it does not run.
        const clientDirectory = config.dpod.apiUrl ? dpodClientDirectory(createDpodClient(config)) : undefined;
        if (!clientDirectory && config.detection.rules.includes('UNBOUND_CLIENT_ACTIVITY'))
          logger.info('DPOD_API_URL is unset: UNBOUND_CLIENT_ACTIVITY does not run');
        const total = await detectRange(primary.pool, opts, config.detection, {
          logger,
          hooks: opts.webhooks ? webhookOutboxHooks(config.webhooks.targets) : {},
          clientDirectory,
          onPass: (range, o) => {
            done++;
            logger.info(
              { from: range.from, to: range.to, raised: o.raised, extended: o.extended, pass: done, passes: days },
              'detection pass done',
            );
          },
        });
        for (const rule of RULE_CODES) {
          if (!config.detection.rules.includes(rule)) continue;
          const r = total.byRule[rule];
          process.stdout.write(`${rule}: ${r.raised} raised, ${r.extended} extended\n`);
        }
        process.stdout.write(
          `${total.raised} finding(s) raised, ${total.extended} extended over ${days} day(s) in ${((performance.now() - started) / 1000).toFixed(2)}s\n`,
        );
      });
    });
}
