import './server/production-default';
import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { assertDpodConfigured, ConfigError, loadConfig } from './config';
import { openStore } from './bootstrap/open-store';
import { InterruptedError, runCommand } from './bootstrap/run-command';
import { exitCodeOf } from './error-codes';
import { createLogger } from './logger';
import { registerIngestCommands } from './ingest/ingest.command';
import { registerIntegrityCommands } from './integrity/integrity.command';
import { registerDetectCommands } from './detect/detect.command';
import { registerExportCommand } from './export/export.command';
import { registerSimulateCommand } from './simulator/simulate.command';
import { registerSchemaCommand } from './graphql/schema.command';
import { registerComposeCommand } from './graphql/federation/compose.command';
import { registerDemoCommand, registerServeCommand } from './server';

/** Exit codes, from the error-code registry: 0 ok, 1 failure, 2 bad usage or configuration, 130 interrupted. */
export const EXIT = {
  ok: 0,
  failure: exitCodeOf('COMMAND_FAILED'),
  usage: exitCodeOf('USAGE'),
  config: exitCodeOf('CONFIG_INVALID'),
  interrupted: exitCodeOf('INTERRUPTED'),
} as const;

/** A failure the user can act on: printed without a stack trace. */
export class UsageError extends Error {}

async function runMigrate(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, {}, config.logFormat);
  await runCommand(logger, async ({ stack }) => {
    const { migration } = await openStore(config, stack, { logger, primary: { poolSize: 2 }, migrate: 'latest' });
    if (!migration) throw new Error('migrate: no migration outcome');
    const outcome = migration;
    if (outcome.alreadyCurrent) {
      process.stdout.write('Database schema is already up to date; nothing to do.\n');
    } else {
      for (const name of outcome.applied) process.stdout.write(`applied ${name}\n`);
      process.stdout.write(`Applied ${outcome.applied.length} migration(s).\n`);
    }
  });
}

/** Builds the `dpod-audit` command tree. */
export function buildProgram(): Command {
  const program = new Command()
    .name('dpod-audit')
    .description('Ingest Thales DPoD / Luna Cloud HSM audit logs into PostgreSQL and serve them as GraphQL.')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nConfiguration comes from environment variables (see README.md). Without DATABASE_URL an embedded PostgreSQL is started.',
    );

  program
    .command('migrate')
    .description('apply pending database migrations (safe to run concurrently; a no-op when current)')
    .action(runMigrate);

  // Commands that read DPoD's Audit Query API refuse to start without it, as a configuration error (exit 2),
  // before they start an embedded PostgreSQL or migrate a database.
  program.hook('preAction', (_program, command) => {
    const flags = command.opts<{ ingest?: boolean; port?: string; host?: string }>();
    const needsDpod = command.name() === 'ingest' || (command.name() === 'serve' && flags.ingest === true);
    if (needsDpod) {
      const invocation = command.name() === 'serve' ? 'serve --ingest' : 'ingest';
      // The same overrides as `serve` applies, so a bad PORT fixed by --port is not reported here.
      const env = {
        ...process.env,
        ...(flags.port ? { PORT: flags.port } : {}),
        ...(flags.host ? { HOST: flags.host } : {}),
      };
      assertDpodConfigured(loadConfig(env), `by \`dpod-audit ${invocation}\``);
    }
  });

  registerIngestCommands(program);
  registerIntegrityCommands(program);
  registerDetectCommands(program);
  registerExportCommand(program);
  registerSimulateCommand(program);
  registerSchemaCommand(program);
  registerComposeCommand(program);
  registerServeCommand(program);
  registerDemoCommand(program);
  return program;
}

/** Registers a command module; later issues add serve, ingest, import, simulate, demo, compose. */
export type CommandRegistrar = (program: Command) => void;

export async function main(argv: string[], registrars: CommandRegistrar[] = []): Promise<number> {
  const program = buildProgram();
  for (const register of registrars) register(program);
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return EXIT.ok;
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.config;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof InterruptedError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT.interrupted;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.LOG_LEVEL === 'debug' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return EXIT.failure;
  }
}

/** Entry point of the `dpod-audit` bin: runs {@link main} and exits with its code. */
export function run(): void {
  main(process.argv).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`fatal: ${String(err)}\n`);
      process.exit(EXIT.failure);
    },
  );
}

if (require.main === module) run();
