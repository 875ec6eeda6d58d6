import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { sql } from 'kysely';
import { z } from 'zod';
import { composeSupergraph } from '../../src/graphql/federation/compose';
import { buildGraphqlSchema, printSchemaSdl } from '../../src/graphql/schema';
import { gql } from '../server/support/http';
import { startSeededApp, type SeededApp } from '../server/support/seeded-app';
import {
  KEY_INVENTORY_SDL_FILE,
  startKeyInventorySubgraph,
  type InventoryKey,
  type KeyInventorySubgraph,
} from './support/key-inventory-subgraph';

interface SubgraphCall {
  subgraph: string;
  entities: boolean;
  representations: number;
}

let seeded: SeededApp;
let inventory: KeyInventorySubgraph;
let gateway: ApolloServer;
let gatewayUrl: string;
let keys: InventoryKey[];
const calls: SubgraphCall[] = [];

/** A gateway response: tests compare `data` as a whole. */
interface GatewayBody {
  data?: unknown;
  errors?: unknown[];
}

// The answers of the subgraph queries that seed the inventory, checked as they are read.
const FirstEvents = z.object({
  service: z.object({ auditEvents: z.object({ nodes: z.array(z.object({ id: z.string() })) }) }),
});
const EventAction = z.object({ auditEvent: z.object({ action: z.string() }) });

async function viaGateway(query: string): Promise<GatewayBody> {
  calls.length = 0;
  const res = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as GatewayBody;
}

const entityCallsTo = (subgraph: string) => calls.filter((c) => c.subgraph === subgraph && c.entities);

beforeAll(async () => {
  seeded = await startSeededApp({ services: 2, clientsPerService: 3, eventsPerDay: 200, days: 2 });
  const serviceIds = seeded.sim.tenant
    .listedServices()
    .filter((s) => s.hasAuditData)
    .map((s) => s.id);
  expect(serviceIds.length).toBe(2);
  keys = [];
  for (const serviceId of serviceIds) {
    const { rows } = await sql<{
      client_id: string;
    }>`select distinct client_id from audit_events where service_id = ${serviceId} order by client_id`.execute(
      seeded.db.db,
    );
    const first = await gql(
      seeded.url,
      'query ($s: ID!) { service(id: $s) { auditEvents(first: 2, orderBy: TIME_ASC) { nodes { id } } } }',
      { s: serviceId },
    );
    const events = FirstEvents.parse(first.body.data).service.auditEvents.nodes;
    expect(events).toHaveLength(2);
    keys.push(
      {
        label: `${serviceId.slice(0, 8)}-signing`,
        serviceId,
        clientIds: rows.slice(0, 2).map((r) => r.client_id),
        lastSignatureId: events[0]!.id,
      },
      {
        label: `${serviceId.slice(0, 8)}-wrapping`,
        serviceId,
        clientIds: [rows[0]!.client_id],
        lastSignatureId: events[1]!.id,
      },
    );
  }
  inventory = await startKeyInventorySubgraph(keys);

  const outcome = composeSupergraph([
    { name: 'dpod-audit', url: `${seeded.url}/graphql`, sdl: printSchemaSdl(await buildGraphqlSchema()) },
    { name: 'key-inventory', url: inventory.url, sdl: readFileSync(KEY_INVENTORY_SDL_FILE, 'utf8') },
  ]);
  if (!outcome.ok) throw new Error(outcome.errors.join('\n'));
  const apolloGateway = new ApolloGateway({
    supergraphSdl: outcome.supergraphSdl,
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource({
        url,
        willSendRequest({ request }) {
          const representations: unknown = request.variables?.representations;
          calls.push({
            subgraph: name,
            entities: /\b_entities\b/.test(request.query ?? ''),
            representations: Array.isArray(representations) ? representations.length : 0,
          });
        },
      }),
  });
  gateway = new ApolloServer({ gateway: apolloGateway });
  gatewayUrl = (await startStandaloneServer(gateway, { listen: { port: 0, host: '127.0.0.1' } })).url;
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await inventory?.stop();
  await seeded?.stop();
});

describe('a gateway over dpod-audit and an example key-inventory subgraph', () => {
  it('extends dpod-audit services and clients with inventory fields (dpod-audit -> key-inventory)', async () => {
    const body = await viaGateway(
      '{ services(first: 10) { nodes { id name keys { label } clients(first: 10) { nodes { id keysUsed { label } } } } } }',
    );
    expect(body.errors).toBeUndefined();
    const expected = seeded.sim.tenant.listedServices().map((s) => ({
      id: s.id,
      name: s.name,
      keys: keys.filter((k) => k.serviceId === s.id).map((k) => ({ label: k.label })),
      clients: {
        nodes: s.clients
          .filter((c) => c.bound)
          .map((c) => ({
            id: c.id,
            keysUsed: keys.filter((k) => k.clientIds.includes(c.id)).map((k) => ({ label: k.label })),
          })),
      },
    }));
    expect(body.data).toEqual({ services: { nodes: expected } });
    // One root fetch to dpod-audit, then one _entities fetch per entity path to key-inventory; none back to dpod-audit.
    expect(calls.filter((c) => c.subgraph === 'dpod-audit')).toEqual([
      { subgraph: 'dpod-audit', entities: false, representations: 0 },
    ]);
    expect(
      entityCallsTo('key-inventory')
        .map((c) => c.representations)
        .sort(),
    ).toEqual([expected.length, expected.flatMap((s) => s.clients.nodes).length].sort());
  });

  it("resolves inventory keys' services and audit events in dpod-audit (key-inventory -> dpod-audit) with one _entities call per entity path", async () => {
    const body = await viaGateway(
      '{ hsmKeys { label service { id name auditEvents { totalCount } } lastSignature { id action service { id } } } }',
    );
    expect(body.errors).toBeUndefined();
    const counts = new Map<string, number>();
    for (const { service_id, n } of (
      await sql<{
        service_id: string;
        n: string;
      }>`select service_id, count(*) as n from audit_events group by service_id`.execute(seeded.db.db)
    ).rows) {
      counts.set(service_id, Number(n));
    }
    const events = new Map<string, string>();
    for (const k of keys) {
      const res = await gql(seeded.url, 'query ($id: ID!) { auditEvent(id: $id) { action } }', {
        id: k.lastSignatureId,
      });
      events.set(k.lastSignatureId!, EventAction.parse(res.body.data).auditEvent.action);
    }
    const nameOf = (id: string) => seeded.sim.tenant.services.find((s) => s.id === id)!.name;
    expect(body.data).toEqual({
      hsmKeys: keys.map((k) => ({
        label: k.label,
        service: { id: k.serviceId, name: nameOf(k.serviceId), auditEvents: { totalCount: counts.get(k.serviceId) } },
        lastSignature: { id: k.lastSignatureId, action: events.get(k.lastSignatureId!), service: { id: k.serviceId } },
      })),
    });
    // Two entity paths (hsmKeys.service, hsmKeys.lastSignature): two _entities calls, each with one
    // representation per key (the gateway does not deduplicate; the subgraph's DataLoaders do).
    expect(entityCallsTo('dpod-audit').map((c) => c.representations)).toEqual([keys.length, keys.length]);
    expect(calls.filter((c) => c.subgraph === 'dpod-audit')).toHaveLength(2);
  });

  it('crosses both ways in one query: inventory keys -> dpod-audit clients -> inventory keys', async () => {
    const body = await viaGateway(
      '{ hsmKeys { label service { id clients(first: 10) { nodes { id keysUsed { label } } } } } }',
    );
    expect(body.errors).toBeUndefined();
    const clientsOf = (serviceId: string) =>
      seeded.sim.tenant.services.find((s) => s.id === serviceId)!.clients.filter((c) => c.bound);
    expect(body.data).toEqual({
      hsmKeys: keys.map((k) => ({
        label: k.label,
        service: {
          id: k.serviceId,
          clients: {
            nodes: clientsOf(k.serviceId).map((c) => ({
              id: c.id,
              keysUsed: keys.filter((x) => x.clientIds.includes(c.id)).map((x) => ({ label: x.label })),
            })),
          },
        },
      })),
    });
    expect(entityCallsTo('dpod-audit')).toEqual([
      { subgraph: 'dpod-audit', entities: true, representations: keys.length },
    ]);
    expect(entityCallsTo('key-inventory')).toHaveLength(1);
    expect(calls).toHaveLength(3);
  });
});
