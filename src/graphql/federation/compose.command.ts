import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { SubgraphSource } from './compose';

/** This subgraph's name and URL in the committed supergraph (the `gateway` service of docker-compose.yml). */
export const DEFAULT_SUBGRAPH = { name: 'dpod-audit', url: 'http://gateway:4000/graphql' } as const;

/** Parses `name=url=file.graphql` (the URL may itself contain `=`; the file may not). */
export function parseSubgraphArgument(text: string): { name: string; url: string; file: string } | null {
  const first = text.indexOf('=');
  const last = text.lastIndexOf('=');
  if (first <= 0 || last === first || last === text.length - 1) return null;
  const name = text.slice(0, first);
  const url = text.slice(first + 1, last);
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name) || !URL.canParse(url)) return null;
  return { name, url, file: text.slice(last + 1) };
}

/** Registers `compose`: composes this subgraph with other subgraphs' SDL files and prints the supergraph SDL. */
export function registerComposeCommand(program: Command): void {
  program
    .command('compose')
    .description(
      'compose this subgraph with other subgraphs (name=url=file.graphql) into a Federation 2 supergraph SDL',
    )
    .argument('[subgraphs...]', 'other subgraphs, each as name=url=schema-file.graphql')
    .option('--name <name>', 'name of this subgraph in the supergraph', DEFAULT_SUBGRAPH.name)
    .option('--url <url>', 'URL the router uses to reach this subgraph', DEFAULT_SUBGRAPH.url)
    .option('--out <file>', 'write the supergraph SDL to this file instead of stdout')
    .action(async function (this: Command, specs: string[], opts: { name: string; url: string; out?: string }) {
      const usage = (message: string): never => this.error(`error: ${message}`, { exitCode: 2, code: 'compose.usage' });
      if (!URL.canParse(opts.url)) usage(`--url "${opts.url}" is not a URL`);
      // Loaded here, not at the CLI's start (see serve.command.ts).
      const { buildGraphqlSchema, printSchemaSdl } = await import('../schema');
      const { composeSupergraph } = await import('./compose');
      const subgraphs: SubgraphSource[] = [
        { name: opts.name, url: opts.url, sdl: printSchemaSdl(await buildGraphqlSchema()) },
      ];
      for (const spec of specs) {
        const parsed = parseSubgraphArgument(spec);
        if (!parsed)
          usage(
            `"${spec}" is not name=url=file.graphql (e.g. inventory=http://inventory:4001/graphql=inventory.graphql)`,
          );
        const { name, url, file } = parsed!;
        if (subgraphs.some((s) => s.name === name)) usage(`subgraph name "${name}" is used twice`);
        const sdl = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) =>
          usage(`cannot read ${file}: ${err.code ?? err.message}`),
        );
        subgraphs.push({ name, url, sdl });
      }
      const outcome = composeSupergraph(subgraphs);
      if (!outcome.ok) {
        const names = subgraphs.map((s) => s.name).join(', ');
        throw new Error(
          `composition of ${names} failed with ${outcome.errors.length} error(s):\n${outcome.errors.map((e) => `  - ${e}`).join('\n')}`,
        );
      }
      for (const hint of outcome.hints) process.stderr.write(`hint: ${hint}\n`);
      if (opts.out) {
        await writeFile(opts.out, outcome.supergraphSdl, 'utf8');
        process.stderr.write(`wrote ${opts.out} (${subgraphs.length} subgraph(s))\n`);
      } else {
        process.stdout.write(outcome.supergraphSdl);
      }
    });
}
