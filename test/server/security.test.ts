import { sql } from 'kysely';
import { exampleQueries, PLACEHOLDER_IDS, type ExampleIds } from '../../src/server/graphiql/example-queries';
import { readExampleIds } from '../../src/server/graphiql/example-ids';
import { bearer as signedBearer } from './support/bearer';
import { dataOf, gql, rawPost, type GqlError, type GqlResponse } from './support/http';
import { startSeededApp, type SeededApp } from './support/seeded-app';

const SECRET = 'security-test-secret-that-is-long-enough-for-hs256';
const ISSUER = 'https://idp.security.test/';
const AUDIENCE = 'dpod-audit-gateway';

let seeded: SeededApp;
let serviceA: string;
let serviceB: string;
let clientsA: string[];
let clientsB: string[];
let asA: Record<string, string>;
let asAll: Record<string, string>;

const bearer = (claims: Record<string, unknown>) =>
  signedBearer({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, subject: 'security-test' }, claims);

async function countFor(serviceId: string | null): Promise<number> {
  const q = serviceId
    ? sql<{ n: string }>`select count(*) as n from audit_events where service_id = ${serviceId}`
    : sql<{ n: string }>`select count(*) as n from audit_events`;
  return Number((await q.execute(seeded.db.db)).rows[0]!.n);
}

beforeAll(async () => {
  // With the simulator's incidents, as in the demo: the GraphiQL tab of open findings has findings to show.
  seeded = await startSeededApp({
    env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
    services: 3,
    clientsPerService: 4,
    incidents: true,
  });
  const luna = seeded.sim.tenant.listedServices().filter((s) => s.hasAuditData);
  expect(luna.length).toBeGreaterThanOrEqual(2);
  [serviceA, serviceB] = [luna[0]!.id, luna[1]!.id];
  const clientsOf = async (id: string) =>
    (
      await sql<{ client_id: string }>`select distinct client_id from audit_events where service_id = ${id}`.execute(
        seeded.db.db,
      )
    ).rows.map((r) => r.client_id);
  clientsA = await clientsOf(serviceA);
  clientsB = await clientsOf(serviceB);
  expect(clientsA.length).toBeGreaterThan(0);
  expect(clientsB.length).toBeGreaterThan(0);
  asA = await bearer({ scope: 'audit:read', services: [serviceA] });
  asAll = await bearer({ scope: 'audit:read' });
}, 120_000);

afterAll(async () => {
  await seeded?.stop();
});

interface EventsPage {
  auditEvents: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    nodes: { id: string; service: { id: string }; client: { id: string } }[];
  };
}

/** Walks every page of `auditEvents(filter)` and returns the ids with their service ids. */
async function allEvents(headers: Record<string, string>, filter: Record<string, unknown> = {}) {
  const seen: { id: string; service: string; client: string }[] = [];
  let after: string | null = null;
  let totalCount = -1;
  for (let page = 0; page < 100; page++) {
    const res: GqlResponse<EventsPage> = await gql<EventsPage>(
      seeded.url,
      `query ($filter: AuditEventFilter, $after: String) {
        auditEvents(filter: $filter, first: 500, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } nodes { id service { id } client { id } }
        }
      }`,
      { filter, after },
      headers,
    );
    const conn = dataOf(res).auditEvents;
    totalCount = conn.totalCount;
    for (const n of conn.nodes) seen.push({ id: n.id, service: n.service.id, client: n.client.id });
    if (!conn.pageInfo.hasNextPage) break;
    after = conn.pageInfo.endCursor;
  }
  return { totalCount, seen };
}

describe('a token scoped to service A sees nothing of service B', () => {
  it('auditEvents: totals and every id across all pages belong to A', async () => {
    const expectedA = await countFor(serviceA);
    const all = await countFor(null);
    expect(all).toBeGreaterThan(expectedA);
    const scoped = await allEvents(asA);
    expect(scoped.totalCount).toBe(expectedA);
    expect(scoped.seen).toHaveLength(expectedA);
    expect(new Set(scoped.seen.map((e) => e.id)).size).toBe(expectedA);
    expect(new Set(scoped.seen.map((e) => e.service))).toEqual(new Set([serviceA]));
    const unrestricted = await allEvents(asAll);
    expect(unrestricted.totalCount).toBe(all);
  });

  it('auditEvents filtered on B (alone or with A) returns only A or nothing', async () => {
    const onlyB = await allEvents(asA, { serviceIds: [serviceB] });
    expect(onlyB).toEqual({ totalCount: 0, seen: [] });
    const both = await allEvents(asA, { serviceIds: [serviceA, serviceB] });
    expect(both.totalCount).toBe(await countFor(serviceA));
    expect(both.seen.every((e) => e.service === serviceA)).toBe(true);
    const byClientB = await allEvents(asA, { clientIds: clientsB });
    expect(byClientB.totalCount).toBe(0);
  });

  it('auditEvent(id) of a B event is not visible', async () => {
    const { rows } = await sql<{
      id: string;
    }>`select id from audit_events where service_id = ${serviceB} limit 3`.execute(seeded.db.db);
    const unrestricted = await allEvents(asAll, { serviceIds: [serviceB] });
    const bIds = unrestricted.seen.slice(0, 3).map((e) => e.id);
    expect(bIds.length).toBe(Math.min(3, rows.length));
    for (const id of bIds) {
      const asAll_ = await gql<{ auditEvent: unknown }>(
        seeded.url,
        'query ($id: ID!) { auditEvent(id: $id) { id service { id } } }',
        { id },
        asAll,
      );
      expect(dataOf(asAll_).auditEvent).toEqual({ id, service: { id: serviceB } });
      const res = await gql<{ auditEvent: unknown }>(
        seeded.url,
        'query ($id: ID!) { auditEvent(id: $id) { id service { id } } }',
        { id },
        asA,
      );
      expect(res.body.data?.auditEvent ?? null).toBeNull();
    }
  });

  it('service(B) and client(B client) are null; their A counterparts are not', async () => {
    const q =
      'query ($s: ID!, $c: ID!) { service(id: $s) { id auditEvents { totalCount } } client(id: $c) { id actions { totalCount } } }';
    type Both = { service: { auditEvents: { totalCount: number } } | null; client: { id: string } | null };
    const b = await gql<Both>(seeded.url, q, { s: serviceB, c: clientsB[0] }, asA);
    expect(b.body.data?.service ?? null).toBeNull();
    expect(b.body.data?.client ?? null).toBeNull();
    const a = dataOf(await gql<Both>(seeded.url, q, { s: serviceA, c: clientsA[0] }, asA));
    expect(a.service?.auditEvents.totalCount).toBe(await countFor(serviceA));
    expect(a.client?.id).toBe(clientsA[0]);
  });

  it('services lists only A, and nested paths stay inside A', async () => {
    const res = await gql<{
      services: {
        totalCount: number;
        nodes: { id: string; clients: { nodes: { actions: { nodes: { service: { id: string } }[] } }[] } }[];
      };
    }>(
      seeded.url,
      `{ services(first: 50) { totalCount nodes { id clients(first: 50) { nodes { id actions(first: 5) { nodes { service { id } } } } } } } }`,
      {},
      asA,
    );
    const { services } = dataOf(res);
    expect(services.totalCount).toBe(1);
    expect(services.nodes.map((n) => n.id)).toEqual([serviceA]);
    const nestedServices = new Set<string>();
    for (const s of services.nodes)
      for (const c of s.clients.nodes) for (const e of c.actions.nodes) nestedServices.add(e.service.id);
    expect([...nestedServices]).toEqual([serviceA]);
    const unrestricted = await gql<{ services: { totalCount: number } }>(
      seeded.url,
      '{ services(first: 50) { totalCount nodes { id } } }',
      {},
      asAll,
    );
    expect(dataOf(unrestricted).services.totalCount).toBeGreaterThan(1);
  });

  it('aggregates and their buckets count only A', async () => {
    const expectedA = await countFor(serviceA);
    type Bucket = { count: number };
    const res = await gql<{
      auditEvents: {
        aggregate: {
          count: number;
          succeeded: number;
          failed: number;
          distinctServices: number;
          distinctClients: number;
          byService: unknown[];
          byClient: (Bucket & { client: { id: string } })[];
          byAction: Bucket[];
          byStatus: Bucket[];
          timeline: Bucket[];
        };
      };
    }>(
      seeded.url,
      `{ auditEvents { aggregate {
          count succeeded failed distinctServices distinctClients
          byService { service { id } count }
          byClient(limit: 100) { client { id } count }
          byAction(limit: 100) { key count }
          byStatus(limit: 100) { key count }
          byRole { key count }
          timeline(interval: DAY) { start count failed }
      } } }`,
      {},
      asA,
    );
    const agg = dataOf(res).auditEvents.aggregate;
    expect(agg.count).toBe(expectedA);
    expect(agg.succeeded + agg.failed).toBe(expectedA);
    expect(agg.distinctServices).toBe(1);
    expect(agg.distinctClients).toBe(clientsA.length);
    expect(agg.byService).toEqual([{ service: { id: serviceA }, count: expectedA }]);
    expect(agg.byClient.map((b) => b.client.id).sort()).toEqual([...clientsA].sort());
    const sum = (buckets: Bucket[]) => buckets.reduce((n, b) => n + b.count, 0);
    expect(sum(agg.byClient)).toBe(expectedA);
    expect(sum(agg.byAction)).toBe(expectedA);
    expect(sum(agg.byStatus)).toBe(expectedA);
    expect(sum(agg.timeline)).toBe(expectedA);
    const onB = await gql<{ auditEvents: { aggregate: unknown } }>(
      seeded.url,
      `query ($b: [ID!]) { auditEvents(filter: { serviceIds: $b }) { aggregate { count byClient { count } timeline(interval: HOUR) { count } } } }`,
      { b: [serviceB] },
      asA,
    );
    expect(dataOf(onB).auditEvents.aggregate).toEqual({ count: 0, byClient: [], timeline: [] });
  });

  it('federation _entities resolves no Service, Client or AuditEvent of B', async () => {
    const schema = await gql<{ __schema: { queryType: { fields: { name: string }[] } } }>(
      seeded.url,
      '{ __schema { queryType { fields { name } } } }',
      {},
      asAll,
    );
    const rootFields = dataOf(schema).__schema.queryType.fields.map((f) => f.name);
    // The server is a federation subgraph: _entities is a path that must honour the scope.
    expect(rootFields).toEqual(expect.arrayContaining(['_entities', '_service']));
    const eventB = (await allEvents(asAll, { serviceIds: [serviceB] })).seen[0]!.id;
    const eventA = (await allEvents(asAll, { serviceIds: [serviceA] })).seen[0]!.id;
    const representations = [
      { __typename: 'Service', id: serviceB },
      { __typename: 'Client', id: clientsB[0] },
      { __typename: 'AuditEvent', id: eventB },
      { __typename: 'Service', id: serviceA },
      { __typename: 'Client', id: clientsA[0] },
      { __typename: 'AuditEvent', id: eventA },
    ];
    const res = await gql<{ _entities: ({ id: string } | null)[] }>(
      seeded.url,
      `query ($r: [_Any!]!) { _entities(representations: $r) {
        ... on Service { id auditEvents { totalCount } }
        ... on Client { id actions { totalCount } }
        ... on AuditEvent { id service { id } }
      } }`,
      { r: representations },
      asA,
    );
    const entities = dataOf(res)._entities;
    expect(entities.slice(0, 3)).toEqual([null, null, null]);
    expect(entities.slice(3).map((e) => e?.id)).toEqual([serviceA, clientsA[0], eventA]);
  });

  it('a token with an empty services claim sees nothing at all', async () => {
    const none = await bearer({ scope: 'audit:read', services: [] });
    const res = await gql(seeded.url, '{ auditEvents { totalCount } services { totalCount } }', {}, none);
    expect(res.body.data).toEqual({ auditEvents: { totalCount: 0 }, services: { totalCount: 0 } });
  });
});

describe('hostile input on the real schema', () => {
  it('treats filter values with SQL meta-characters as data', async () => {
    const before = await countFor(null);
    const res = await gql(
      seeded.url,
      `query ($f: AuditEventFilter) { auditEvents(filter: $f) { totalCount } }`,
      {
        f: {
          actions: ["LUNA_LOGIN'; drop table audit_events; --"],
          statuses: ['x" or 1=1 --'],
          objectId: "1' or '1'='1",
          roles: ['%'],
          hsmIds: ['\\'],
        },
      },
      asAll,
    );
    expect(res.body).toEqual({ data: { auditEvents: { totalCount: 0 } } });
    const ids = await gql(
      seeded.url,
      `query ($f: AuditEventFilter) { auditEvents(filter: $f) { totalCount } }`,
      { f: { serviceIds: ["' or 1=1 --"] } },
      asA,
    );
    expect(ids.body).toEqual({ data: { auditEvents: { totalCount: 0 } } });
    expect(await countFor(null)).toBe(before);
  });

  it('refuses filter values and ids PostgreSQL cannot take with BAD_USER_INPUT, not an internal error', async () => {
    const q =
      'query ($f: AuditEventFilter) { auditEvents(filter: $f, first: 1) { totalCount nodes { id } aggregate { byAction { key } } } }';
    const cases: [Record<string, unknown>, string][] = [
      [{ objectId: 'a\u0000b' }, 'filter.objectId'],
      [{ actions: ['LUNA_SIGN', 'x\u0000'] }, 'filter.actions'],
      [{ serviceIds: ['\u0000'] }, 'filter.serviceIds'],
      [{ from: '0000-01-01T00:00:00Z' }, 'filter.from'],
      [{ to: '9999-12-31T23:59:59-23:59' }, 'filter.to'],
      [{ clientIps: ['fe80::1%eth0'] }, 'filter.clientIps'],
    ];
    for (const [f, argument] of cases) {
      const res = await gql(seeded.url, q, { f }, asAll);
      expect(res.body.data).toBeNull();
      const refusal = { path: ['auditEvents'], extensions: { code: 'BAD_USER_INPUT', argument } };
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors?.[0]).toMatchObject(refusal);
    }
    const earliest = await gql(
      seeded.url,
      '{ auditEvents(filter: { from: "0001-01-01T00:00:00Z" }) { totalCount } }',
      {},
      asAll,
    );
    expect(earliest.body).toEqual({ data: { auditEvents: { totalCount: await countFor(null) } } });
    const ids = await gql(
      seeded.url,
      'query ($id: ID!) { client(id: $id) { id } service(id: $id) { id auditEvents { totalCount } } }',
      { id: 'a\u0000' },
      asAll,
    );
    expect(ids.body.data).toEqual({ client: null, service: null });
    expect(ids.body.errors?.map((e) => `${(e.path ?? []).join('.')} ${e.extensions?.code ?? ''}`).sort()).toEqual([
      'client BAD_USER_INPUT',
      'service BAD_USER_INPUT',
    ]);
  });

  it('refuses malformed _entities representations with BAD_USER_INPUT, not an internal error', async () => {
    const q = 'query ($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Client { id } } }';
    for (const r of [
      [{ __typename: 'Nope', id: 'x' }],
      [{ id: 'x' }],
      ['a string'],
      [
        { __typename: 'Client', id: 'ok' },
        { __typename: 'LunaAction', code: 'x' },
      ],
    ]) {
      const res = await gql(seeded.url, q, { r }, asAll);
      expect(res.body.data).toBeNull();
      expect(res.body.errors).toEqual([
        expect.objectContaining({
          path: ['_entities'],
          extensions: { code: 'BAD_USER_INPUT', argument: 'representations' },
        }),
      ]);
    }
    const nul = await gql(
      seeded.url,
      q,
      {
        r: [
          { __typename: 'Client', id: 'a\u0000' },
          { __typename: 'Client', id: clientsA[0] },
        ],
      },
      asAll,
    );
    expect(nul.body.data).toEqual({ _entities: [null, { __typename: 'Client', id: clientsA[0] }] });
    expect(nul.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses a tampered cursor with INVALID_CURSOR', async () => {
    const first = await gql<{ auditEvents: { pageInfo: { endCursor: string } } }>(
      seeded.url,
      '{ auditEvents(first: 2) { pageInfo { endCursor } } }',
      {},
      asA,
    );
    const cursor = dataOf(first).auditEvents.pageInfo.endCursor;
    const tampered = cursor.slice(0, -3) + (cursor.endsWith('AAA') ? 'BBB' : 'AAA');
    const res = await gql(
      seeded.url,
      'query ($c: String) { auditEvents(first: 2, after: $c) { nodes { id } } }',
      { c: tampered },
      asA,
    );
    expect(res.body.errors?.[0]?.extensions?.code).toBe('INVALID_CURSOR');
    const garbage = await gql(
      seeded.url,
      'query ($c: String) { auditEvents(first: 2, after: $c) { nodes { id } } }',
      { c: "'; select pg_sleep(10); --" },
      asA,
    );
    expect(garbage.body.errors?.[0]?.extensions?.code).toBe('INVALID_CURSOR');
  });

  it("runs the product's headline traversal (100 services x 20 clients x 5 actions) under the default limits", async () => {
    const headline = `{ services(first: 100) { totalCount nodes { id name status
      clients(first: 20) { totalCount nodes { id name bound
        actions(first: 5) { totalCount nodes { time action status meta { clientIp hsmId objectIds role } } } } }
      auditEvents(first: 1) { totalCount } } } }`;
    const res = await gql<{
      services: {
        totalCount: number;
        nodes: {
          id: string;
          clients: { nodes: { actions: { nodes: unknown[] } }[] };
          auditEvents: { totalCount: number };
        }[];
      };
    }>(seeded.url, headline, {}, asAll);
    const { services } = dataOf(res);
    expect(services.nodes.length).toBe(services.totalCount);
    for (const s of services.nodes) expect(s.auditEvents.totalCount).toBe(await countFor(s.id));
    expect(services.nodes.flatMap((s) => s.clients.nodes.flatMap((c) => c.actions.nodes)).length).toBeGreaterThan(0);
    // One more level of 5 under every action is 12,100 + 50,000 nodes: over the default of 50,000.
    const deeper = headline.replace(
      'meta { clientIp hsmId objectIds role }',
      'client { actions(first: 5) { totalCount } }',
    );
    const refused = await gql(seeded.url, deeper, {}, asAll);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      limit: 50000,
      actual: 62200,
    });
  });

  it('refuses a depth bomb, an alias bomb, first: 100000 and a 10 MB body, and keeps serving', async () => {
    let deep = 'id';
    for (let i = 0; i < 10; i++) deep = `id clients(first: 1) { nodes { id service { ${deep} } } }`;
    const bomb = await gql(seeded.url, `{ services(first: 1) { nodes { ${deep} } } }`, {}, asAll);
    expect(bomb.body.errors?.[0]?.extensions).toEqual(expect.objectContaining({ code: 'QUERY_TOO_DEEP', limit: 12 }));
    const aliases = Array.from({ length: 100 }, (_, i) => `a${i}: lunaActions { code }`).join(' ');
    const aliasBomb = await gql(seeded.url, `{ ${aliases} }`, {}, asAll);
    expect(aliasBomb.body.errors?.[0]?.extensions).toEqual(
      expect.objectContaining({ code: 'TOO_MANY_ALIASES', limit: 30 }),
    );
    const huge = await gql(seeded.url, '{ auditEvents(first: 100000) { nodes { id } } }', {}, asAll);
    expect(huge.body.errors?.[0]?.extensions).toEqual(
      expect.objectContaining({ code: 'PAGE_SIZE_EXCEEDED', limit: 500 }),
    );
    const body = Buffer.alloc(10 * 1024 * 1024, 'a');
    const big = await rawPost(seeded.url, '/graphql', body, asAll);
    expect(big.status).toBe(413);
    expect((JSON.parse(big.body) as { errors: GqlError[] }).errors[0]?.extensions?.code).toBe('BODY_TOO_LARGE');
    const ok = await gql(seeded.url, '{ auditEvents { totalCount } }', {}, asAll);
    expect(ok.body).toEqual({ data: { auditEvents: { totalCount: await countFor(null) } } });
  });
});

describe('GraphiQL examples', () => {
  it("are filled with placeholders, not the store's ids, on the page served without a token (AUTH_MODE=jwt)", async () => {
    const res = await fetch(`${seeded.url}/graphql`, { headers: { accept: 'text/html' } });
    const page = await res.text();
    expect(res.status).toBe(200);
    const stored = (
      await sql<{
        id: string;
      }>`select distinct service_id as id from audit_events union select distinct client_id from audit_events`.execute(
        seeded.db.db,
      )
    ).rows;
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.filter((r) => page.includes(r.id))).toEqual([]);
    expect(page).toContain(PLACEHOLDER_IDS.serviceId);
  });

  it('every example query runs on the real schema without errors and finds data', async () => {
    const ids: ExampleIds = await readExampleIds(seeded.db.db);
    const now = seeded.sim.tenant.now();
    const examples = exampleQueries(ids, now);
    expect(examples.filter((e) => isSubscription(e.query)).map((e) => e.title)).toEqual([
      'Live events',
      'Live findings',
    ]);
    for (const example of examples.filter((e) => !isSubscription(e.query))) {
      const res = await gql(seeded.url, example.query, example.variables, asAll);
      expect({ title: example.title, errors: res.body.errors }).toEqual({ title: example.title, errors: undefined });
      expect(JSON.stringify(res.body.data)).toMatch(/"count":[1-9]|"totalCount":[1-9]/);
    }
  });

  it('every example subscription is accepted over the event stream (200, not a 400 with its errors)', async () => {
    const ids: ExampleIds = await readExampleIds(seeded.db.db);
    for (const example of exampleQueries(ids).filter((e) => isSubscription(e.query))) {
      const controller = new AbortController();
      const res = await fetch(`${seeded.url}/graphql`, {
        method: 'POST',
        headers: { ...asAll, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: example.query, variables: example.variables }),
        signal: controller.signal,
      });
      const answer = {
        title: example.title,
        status: res.status,
        type: res.headers.get('content-type'),
        body: res.ok ? null : await res.text(),
      };
      controller.abort();
      expect(answer).toEqual({
        title: example.title,
        status: 200,
        type: 'text/event-stream; charset=utf-8',
        body: null,
      });
    }
  });
});

/** True for an example whose operation is a subscription (the examples hold one operation each). */
function isSubscription(query: string): boolean {
  return /^\s*subscription\b/m.test(query.replace(/#[^\n]*/g, ''));
}
