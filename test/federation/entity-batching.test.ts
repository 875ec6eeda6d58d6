import { startGraphqlFixture, type GraphqlFixture } from '../graphql/support/graphql-fixture';
import type { Id, Nodes } from '../graphql/support/response-shapes';

let f: GraphqlFixture;

beforeAll(async () => {
  f = await startGraphqlFixture({ services: 3, clientsPerService: 4, eventsPerDay: 300, days: 2 });
}, 120_000);

afterAll(async () => {
  await f?.stop();
});

const ENTITIES = `query ($r: [_Any!]!) { _entities(representations: $r) {
  ... on Service { id name }
  ... on Client { id bound }
  ... on AuditEvent { id action service { id } }
} }`;

describe("_entities goes through the request's DataLoaders", () => {
  it('resolves 100 AuditEvent representations with one SQL statement, in order', async () => {
    const page = await f.gqlData<{ auditEvents: Nodes<Id> }>(
      '{ auditEvents(first: 100, orderBy: TIME_ASC) { nodes { id action service { id } } } }',
    );
    const events = page.auditEvents.nodes;
    expect(events).toHaveLength(100);
    const reversed = [...events].reverse();
    f.resetCounts();
    const body = await f.gql(ENTITIES, { r: reversed.map((e) => ({ __typename: 'AuditEvent', id: e.id })) });
    expect(body).toEqual({ data: { _entities: reversed } });
    expect(f.sqlCount()).toBe(1);
  });

  it('resolves 100 Service representations with one DPoD request per distinct service and no SQL', async () => {
    const services = f.sim.tenant.services;
    const representations = Array.from({ length: 100 }, (_, i) => ({
      __typename: 'Service',
      id: services[i % services.length]!.id,
    }));
    f.resetCounts();
    const body = await f.gql(ENTITIES, { r: representations });
    expect(body).toEqual({
      data: {
        _entities: representations.map((r) => {
          const s = services.find((x) => x.id === r.id)!;
          return { id: s.id, name: s.listed ? s.name : null };
        }),
      },
    });
    expect(f.sqlCount()).toBe(0);
    const { 'POST /oauth/token': tokens = 0, ...calls } = f.sim.stats();
    expect(calls).toEqual({ 'GET /v1/service_instances/{id}': services.length });
    expect(tokens).toBeLessThanOrEqual(1);
  });

  it('resolves 100 Client representations with one SQL statement and one bindings request per distinct service', async () => {
    const clients = f.sim.tenant.services
      .filter((s) => s.hasAuditData)
      .flatMap((s) => s.clients.map((c) => ({ client: c, service: s })));
    const seen = await f.gqlData<{ auditEvents: { aggregate: { byClient: { client: Id }[] } } }>(
      '{ auditEvents(first: 500) { aggregate { byClient { client { id } } } } }',
    );
    const active = new Set(seen.auditEvents.aggregate.byClient.map((b) => b.client.id));
    const used = clients.filter((c) => active.has(c.client.id));
    expect(used.length).toBeGreaterThan(3);
    const representations = Array.from({ length: 100 }, (_, i) => ({
      __typename: 'Client',
      id: used[i % used.length]!.client.id,
    }));
    f.resetCounts();
    const body = await f.gql(ENTITIES, { r: representations });
    expect(body).toEqual({
      data: {
        _entities: representations.map((r) => ({
          id: r.id,
          bound: used.find((c) => c.client.id === r.id)!.client.bound,
        })),
      },
    });
    expect(f.sqlCount()).toBe(1);
    const { 'POST /oauth/token': tokens = 0, ...calls } = f.sim.stats();
    expect(calls).toEqual({ 'GET /v1/service_instances/{id}/bindings': new Set(used.map((c) => c.service.id)).size });
    expect(tokens).toBeLessThanOrEqual(1);
  });

  it('answers a malformed representation with BAD_USER_INPUT for that entity only', async () => {
    const page = await f.gqlData<{ auditEvents: Nodes<Id> }>(
      '{ auditEvents(first: 1) { nodes { id action service { id } } } }',
    );
    const event = page.auditEvents.nodes[0];
    expect(event).toBeDefined();
    const body = await f.gql(ENTITIES, {
      r: [
        { __typename: 'AuditEvent', id: 'not-an-id' },
        { __typename: 'Service' },
        { __typename: 'AuditEvent', id: event?.id },
      ],
    });
    expect(body.data).toEqual({ _entities: [null, null, event] });
    expect(body.errors!.map((e) => [e.path, e.extensions?.code])).toEqual([
      [['_entities', 0], 'BAD_USER_INPUT'],
      [['_entities', 1], 'BAD_USER_INPUT'],
    ]);
  });
});
