import type { Command } from 'commander';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { runCommand } from '../bootstrap/run-command';

/** `dpod-audit serve [--ingest]`: the GraphQL server, optionally with the ingest follower in the same process. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'apply pending migrations, then serve GraphQL (+ GraphiQL, /healthz, /readyz, /metrics) on HOST:PORT; --ingest also follows DPoD audit exports',
    )
    .option(
      '--ingest',
      'run the ingest follower in this process (needs DPOD_API_URL, DPOD_TOKEN_URL, DPOD_CLIENT_ID, DPOD_CLIENT_SECRET)',
      false,
    )
    .option('--port <port>', 'listen port (overrides PORT)')
    .option('--host <host>', 'listen address (overrides HOST)')
    .action(async (flags: { ingest: boolean; port?: string; host?: string }) => {
      const config = loadConfig({
        ...process.env,
        ...(flags.port ? { PORT: flags.port } : {}),
        ...(flags.host ? { HOST: flags.host } : {}),
      });
      const logger = createLogger(config.logLevel, {}, config.logFormat);
      await runCommand(logger, async ({ stack, signalled }) => {
        // Loaded here, not at start: the CLI's other commands (import, seal, ...) do not carry the server's modules.
        const { createApp } = await import('./app');
        const app = createApp(config, { logger, follow: flags.ingest });
        stack.add('server stop', () => app.stop());
        const url = await app.start();
        logger.info({ url: `${url}/graphql`, auth: config.auth.mode, follower: flags.ingest }, 'serving GraphQL');
        process.stdout.write(
          `GraphQL on ${url}/graphql (GraphiQL in a browser), health on ${url}/readyz, metrics on ${url}/metrics\n`,
        );
        await signalled;
      });
    });
}
