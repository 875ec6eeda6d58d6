import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

/** The example subgraph's SDL (also composed by the `compose` CLI test). */
export const KEY_INVENTORY_SDL_FILE = join(__dirname, '..', 'fixtures', 'key-inventory.graphql');

/** One key of the example inventory. */
export interface InventoryKey {
  label: string;
  serviceId: string;
  clientIds: string[];
  /** Global id of an AuditEvent of dpod-audit, or null. */
  lastSignatureId: string | null;
}

/** The running example subgraph; `entityCalls` counts the `_entities` requests it answered, by type. */
export interface KeyInventorySubgraph {
  url: string;
  entityCalls: number;
  stop(): Promise<void>;
}

/** Starts the key-inventory subgraph (`@apollo/server` + `buildSubgraphSchema`) on a free port. */
export async function startKeyInventorySubgraph(keys: InventoryKey[]): Promise<KeyInventorySubgraph> {
  const toKey = (k: InventoryKey) => ({
    label: k.label,
    service: { id: k.serviceId },
    lastSignature: k.lastSignatureId ? { id: k.lastSignatureId } : null,
  });
  const schema = buildSubgraphSchema([
    {
      typeDefs: parse(readFileSync(KEY_INVENTORY_SDL_FILE, 'utf8')),
      resolvers: {
        Query: { hsmKeys: () => keys.map(toKey) },
        Service: {
          __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
          keys: (s: { id: string }) => keys.filter((k) => k.serviceId === s.id).map(toKey),
        },
        Client: {
          __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
          keysUsed: (c: { id: string }) => keys.filter((k) => k.clientIds.includes(c.id)).map(toKey),
        },
      },
    },
  ]);
  const state = { entityCalls: 0 };
  const server = new ApolloServer({
    schema,
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      {
        requestDidStart({ request }) {
          if (request.query?.includes('_entities')) state.entityCalls++;
          return Promise.resolve();
        },
      },
    ],
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return {
    url,
    get entityCalls() {
      return state.entityCalls;
    },
    stop: () => server.stop(),
  };
}
