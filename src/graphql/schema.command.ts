import { join } from 'node:path';
import type { Command } from 'commander';

/** Where the committed SDL lives, relative to the project root. */
export const SCHEMA_FILE = join('schema', 'schema.graphql');

/** Registers `schema`: prints the GraphQL SDL, or writes schema/schema.graphql with --write. */
export function registerSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the GraphQL schema (SDL) emitted from the code; --write updates schema/schema.graphql')
    .option('--write', `write ${SCHEMA_FILE} instead of printing`)
    .option('--out <file>', 'write to this file instead of printing')
    .action(async (opts: { write?: boolean; out?: string }) => {
      const target = opts.out ?? (opts.write ? SCHEMA_FILE : undefined);
      // Loaded here, not at the CLI's start (see serve.command.ts).
      const { buildGraphqlSchema, printSchemaSdl } = await import('./schema');
      const schema = await buildGraphqlSchema();
      if (target) {
        await buildGraphqlSchema({ emitSchemaFile: target });
        process.stdout.write(`wrote ${target}\n`);
      } else {
        process.stdout.write(printSchemaSdl(schema));
      }
    });
}
