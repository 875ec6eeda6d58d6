import { composeServices } from '@apollo/composition';
import { GraphQLError, parse, type DocumentNode } from 'graphql';

/** One subgraph to compose: its name, the URL the router calls, and its SDL. */
export interface SubgraphSource {
  name: string;
  url: string;
  sdl: string;
}

/** The outcome of {@link composeSupergraph}: the supergraph SDL, or every error found (none thrown). */
export type ComposeOutcome = { ok: true; supergraphSdl: string; hints: string[] } | { ok: false; errors: string[] };

function describe(error: GraphQLError): string {
  const code = error.extensions?.code;
  return `${typeof code === 'string' ? `[${code}] ` : ''}${error.message}`;
}

/** Composes subgraph SDLs into a supergraph with `@apollo/composition` (Federation 2). */
export function composeSupergraph(subgraphs: SubgraphSource[]): ComposeOutcome {
  const errors: string[] = [];
  const services: { name: string; url: string; typeDefs: DocumentNode }[] = [];
  for (const subgraph of subgraphs) {
    try {
      services.push({ name: subgraph.name, url: subgraph.url, typeDefs: parse(subgraph.sdl) });
    } catch (err) {
      errors.push(`[${subgraph.name}] invalid SDL: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const result = composeServices(services);
  if (result.errors) return { ok: false, errors: result.errors.map(describe) };
  return {
    ok: true,
    supergraphSdl: `${result.supergraphSdl.trimEnd()}\n`,
    hints: result.hints.map((h) => `[${h.definition.code}] ${h.message}`),
  };
}
