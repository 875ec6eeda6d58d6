import { sql } from 'kysely';
import type { DpodClient } from '../../src/dpod';
import { startGraphqlFixture, type GraphqlFixture } from './support/graphql-fixture';
import type { Id, Nodes } from './support/response-shapes';

let f: GraphqlFixture;
beforeAll(async () => {
  f = await startGraphqlFixture({ seed: 3, services: 3, clientsPerService: 6, eventsPerDay: 300, days: 2 });
});
afterAll(() => f?.stop());
beforeEach(() => {
  f.sim.setFault('*', null);
  f.deps.liveCache.clear();
});

const DEEP = `{
  services {
    totalCount
    nodes {
      id name serviceType partitionSerialNumber inDpod
      clients(first: 20) {
        totalCount
        nodes {
          id name bound createdAt service { id }
          actions(first: 10) { totalCount nodes { action status succeeded client { id } service { id } meta { clientIp hsmId objectIds partitionSerial role malformed } } }
        }
      }
    }
  }
}`;

/** An event row as {@link expectedDeep} selects it. */
interface ActionRow {
  action: string;
  status: string;
  succeeded: boolean;
  client_id: string;
  service_id: string;
  client_ip: string | null;
  hsm_id: string | null;
  object_ids: string[];
  partition_serial: string | null;
  role: string | null;
  meta_malformed: boolean;
}

/** `service { id name inDpod }` and `client { id name bound }` of an event. */
interface LiveRefs {
  service: { id: string; name: string | null; inDpod: boolean };
  client: { id: string; name: string | null; bound: boolean };
}

/** What the deep query must return, from the simulator's tenant and plain SQL. */
async function expectedDeep() {
  const listed = f.sim.tenant.listedServices();
  const nodes = [];
  for (const s of listed) {
    const clients = [];
    for (const c of s.clients.filter((c) => c.bound)) {
      const { rows } = await sql<ActionRow>`
        select action, status, status = 'LUNA_RET_OK' as succeeded, client_id, service_id, host(client_ip) as client_ip, hsm_id, object_ids, partition_serial, role, meta_malformed
          from audit_events where client_id = ${c.id} order by time desc, id desc limit 10`.execute(f.t.db);
      const total = (
        await sql<{ n: number }>`select count(*)::int as n from audit_events where client_id = ${c.id}`.execute(f.t.db)
      ).rows[0]!.n;
      clients.push({
        id: c.id,
        name: c.name,
        bound: true,
        createdAt: c.createdAt.toISOString(),
        service: { id: s.id },
        actions: {
          totalCount: total,
          nodes: rows.map((r) => ({
            action: r.action,
            status: r.status,
            succeeded: r.succeeded,
            client: { id: r.client_id },
            service: { id: r.service_id },
            meta: {
              clientIp: r.client_ip,
              hsmId: r.hsm_id,
              objectIds: r.object_ids,
              partitionSerial: r.partition_serial,
              role: r.role,
              malformed: r.meta_malformed,
            },
          })),
        },
      });
    }
    nodes.push({
      id: s.id,
      name: s.name,
      serviceType: s.serviceType,
      partitionSerialNumber: s.partitionSerialNumber,
      inDpod: true,
      clients: { totalCount: clients.length, nodes: clients },
    });
  }
  return { services: { totalCount: listed.length, nodes } };
}

/** What the confinement test's query selects. */
interface Confined {
  services: unknown;
  mineS: unknown;
  otherS: unknown;
  ev: unknown;
  oc: unknown;
  mc: unknown;
  all: unknown;
  mineEvents: { nodes: { service: Id }[]; aggregate: { byService: unknown } };
}

describe('the live graph (services -> clients -> actions -> meta)', () => {
  it('returns names, bindings and meta with one SQL query per field of a level and one DPoD request per service per level', async () => {
    f.resetCounts();
    const body = await f.gql(DEEP);
    const expected = await expectedDeep();
    expect(body).toEqual({ data: expected });
    const listed = f.sim.tenant.listedServices().length;
    // Client.actions of every client: one keyset page query (nodes) and one rollup count (totalCount).
    expect(f.sqlCount()).toBe(2);
    const { 'POST /oauth/token': tokens = 0, ...calls } = f.sim.stats();
    expect(calls).toEqual({ 'GET /v1/service_instances': 1, 'GET /v1/service_instances/{id}/bindings': listed });
    expect(tokens).toBeLessThanOrEqual(1);
    expect(expected.services.nodes.flatMap((s) => s.clients.nodes).length).toBeGreaterThanOrEqual(12);
  });

  it('resolves 200 events of many clients with at most one DPoD request per distinct service per level', async () => {
    f.resetCounts();
    const data = await f.gqlData<{ auditEvents: Nodes<LiveRefs> }>(
      `{ auditEvents(first: 200, orderBy: TIME_ASC) { nodes { action service { id name inDpod } client { id name bound } } } }`,
    );
    const nodes = data.auditEvents.nodes;
    expect(nodes).toHaveLength(200);
    const services = new Set(nodes.map((n) => n.service.id));
    const clients = new Set(nodes.map((n) => n.client.id));
    expect(clients.size).toBeGreaterThan(services.size);
    expect(f.sqlCount()).toBe(1);
    const stats = f.sim.stats();
    expect(stats['GET /v1/service_instances/{id}']).toBe(services.size);
    expect(stats['GET /v1/service_instances/{id}/bindings']).toBe(services.size);
    expect(stats['GET /v1/service_instances/{id}/bindings/{clientId}']).toBeUndefined();
    for (const n of nodes) {
      const s = f.sim.tenant.services.find((x) => x.id === n.service.id)!;
      const c = s.clients.find((x) => x.id === n.client.id)!;
      expect(n.service).toEqual({ id: s.id, name: s.listed ? s.name : null, inDpod: s.listed });
      expect(n.client).toEqual({ id: c.id, name: c.bound ? c.name : null, bound: c.bound });
    }
  });

  it('keeps the number of SQL queries and DPoD requests constant whatever the fan-out', async () => {
    const run = async (clients: number, actions: number) => {
      f.resetCounts();
      const body = await f.gql(
        `{ services { nodes { clients(first: ${clients}) { nodes { name actions(first: ${actions}) { nodes { meta { role } } aggregate { count byAction(limit: 2) { key } } } } } } } }`,
      );
      expect(body.errors).toBeUndefined();
      return {
        sql: f.sqlCount(),
        dpod: Object.values(f.sim.stats()).reduce((a, b) => a + b, 0) - (f.sim.stats()['POST /oauth/token'] ?? 0),
      };
    };
    const small = await run(1, 1);
    const large = await run(20, 50);
    expect(small).toEqual(large);
    expect(large.sql).toBe(2);
  });

  it('resolves unknown ids instead of failing', async () => {
    const unknown = '00000000-0000-4000-8000-00000000dead';
    const body = await f.gql(
      `query($id: ID!) { service(id: $id) { id inDpod name auditEvents { totalCount } clients { totalCount } } client(id: $id) { id bound name service { id } actions { totalCount } } }`,
      { id: unknown },
    );
    expect(body).toEqual({
      data: {
        service: { id: unknown, inDpod: false, name: null, auditEvents: { totalCount: 0 }, clients: { totalCount: 0 } },
        client: { id: unknown, bound: false, name: null, service: null, actions: { totalCount: 0 } },
      },
    });
    const deleted = f.sim.tenant.services.find((s) => !s.listed)!;
    const unbound = f.sim.tenant.services.find((s) => s.listed && s.hasAuditData)!.clients.find((c) => !c.bound)!;
    const known = await f.gqlData<{ service: unknown; client: { bound: boolean } }>(
      `query($s: ID!, $c: ID!) { service(id: $s) { inDpod name } client(id: $c) { bound name service { name } } }`,
      { s: deleted.id, c: unbound.id },
    );
    expect(known.service).toEqual({ inDpod: false, name: null });
    expect(known.client.bound).toBe(false);
  });

  it('resolves ids that cannot be a path segment of their own (".", "..", a lone surrogate) as unknown without asking DPoD', async () => {
    const upstreamCalls = () => (f.deps.dpod as DpodClient).callStats().reduce((n, s) => n + s.count, 0);
    const before = upstreamCalls();
    f.resetCounts();
    const body = await f.gql(
      `query($a: ID!, $b: ID!, $c: ID!) { a: service(id: $a) { ...S } b: service(id: $b) { ...S } c: service(id: $c) { ...S } } fragment S on Service { id inDpod name clients { totalCount } }`,
      { a: '.', b: '..', c: '\ud800' },
    );
    expect(body).toEqual({
      data: {
        a: { id: '.', inDpod: false, name: null, clients: { totalCount: 0 } },
        b: { id: '..', inDpod: false, name: null, clients: { totalCount: 0 } },
        c: { id: '\ud800', inDpod: false, name: null, clients: { totalCount: 0 } },
      },
    });
    expect(upstreamCalls() - before).toBe(0);
    expect(f.sim.stats()).toEqual({});
  });

  it('serves audit data with null live fields and DPOD_UNAVAILABLE when DPoD fails', async () => {
    f.sim.setFault('*', { errorRate: 1, errorStatus: 503 });
    const body = await f.gql<{ auditEvents: Nodes<LiveRefs> }>(
      `{ auditEvents(first: 3, orderBy: TIME_ASC) { totalCount nodes { action service { id name inDpod } client { id name bound } } } }`,
    );
    const expected = (
      await sql<{
        action: string;
        service_id: string;
        client_id: string;
      }>`select action, service_id, client_id from audit_events order by time, id limit 3`.execute(f.t.db)
    ).rows;
    expect(body.data?.auditEvents.nodes).toEqual(
      expected.map((r) => ({
        action: r.action,
        service: { id: r.service_id, name: null, inDpod: false },
        client: { id: r.client_id, name: null, bound: false },
      })),
    );
    expect(body.data?.auditEvents.totalCount).toBeGreaterThan(0);
    expect(body.errors!.length).toBeGreaterThanOrEqual(2);
    for (const e of body.errors!) {
      expect(e.extensions?.code).toBe('DPOD_UNAVAILABLE');
      expect(e.message).toMatch(
        /^((Service\.inDpod|Client\.bound) is false without confirmation: )?Live DPoD data is unavailable \(.+\); audit data is still served, live fields are null$/,
      );
    }
    const list = await f.gql(`{ services { totalCount } }`);
    expect(list.data).toBeNull();
    expect(list.errors?.map((e) => e.extensions?.code)).toEqual(['DPOD_UNAVAILABLE']);
  });

  it('flags inDpod and bound answered without DPoD with DPOD_UNAVAILABLE at their paths', async () => {
    f.sim.setFault('*', { errorRate: 1, errorStatus: 503 });
    f.deps.liveCache.clear();
    const body = await f.gql<{ auditEvents: Nodes<unknown> }>(
      `{ auditEvents(first: 2, orderBy: TIME_ASC) { nodes { action service { inDpod } client { bound } } } }`,
    );
    const nodes = body.data?.auditEvents.nodes ?? [];
    expect(nodes).toHaveLength(2);
    for (const n of nodes) expect(n).toMatchObject({ service: { inDpod: false }, client: { bound: false } });
    const paths = body.errors!.map((e) => (e.path ?? []).join('.')).sort();
    expect(paths).toEqual([
      'auditEvents.nodes.0.client.bound',
      'auditEvents.nodes.0.service.inDpod',
      'auditEvents.nodes.1.client.bound',
      'auditEvents.nodes.1.service.inDpod',
    ]);
    for (const e of body.errors!) {
      expect(e.extensions?.code).toBe('DPOD_UNAVAILABLE');
      expect(e.message).toMatch(/^(Service\.inDpod|Client\.bound) is false without confirmation: /);
    }
    f.sim.setFault('*', null);
  });

  it('serves cached live data when DPoD fails after a successful lookup (stale-if-error)', async () => {
    const q = `{ auditEvents(first: 20) { nodes { service { name } client { name } } } }`;
    const warm = await f.gql(q);
    expect(warm.errors).toBeUndefined();
    f.sim.setFault('*', { errorRate: 1, errorStatus: 503 });
    expect(await f.gql(q)).toEqual(warm);
  });

  it("confines every path to the caller's services", async () => {
    const [mine, other] = f.sim.tenant.listedServices().filter((s) => s.hasAuditData);
    const as = { services: [mine!.id] };
    const otherEvent = await f.gqlData<{ auditEvents: Nodes<{ id: string; client: Id }> }>(
      `query($s: [ID!]) { auditEvents(first: 1, filter: { serviceIds: $s }) { nodes { id client { id } } } }`,
      { s: [other!.id] },
    );
    const otherEventId = otherEvent.auditEvents.nodes[0]?.id;
    const otherClientId = otherEvent.auditEvents.nodes[0]?.client.id;
    const data = await f.gqlData<Confined>(
      `query($mine: ID!, $other: ID!, $ev: ID!, $oc: ID!, $mc: ID!) {
        services { totalCount nodes { id } }
        mineS: service(id: $mine) { id }
        otherS: service(id: $other) { id }
        ev: auditEvent(id: $ev) { id }
        oc: client(id: $oc) { id }
        mc: client(id: $mc) { id service { id } }
        all: auditEvents(filter: { serviceIds: [$other] }) { totalCount nodes { id } }
        mineEvents: auditEvents(first: 500) { nodes { service { id } } aggregate { byService { service { id } } } }
      }`,
      { mine: mine!.id, other: other!.id, ev: otherEventId, oc: otherClientId, mc: mine!.clients[0]!.id },
      as,
    );
    expect(data.services).toEqual({ totalCount: 1, nodes: [{ id: mine!.id }] });
    expect(data.mineS).toEqual({ id: mine!.id });
    expect(data.otherS).toBeNull();
    expect(data.ev).toBeNull();
    expect(data.oc).toBeNull();
    expect(data.mc).toEqual({ id: mine!.clients[0]!.id, service: { id: mine!.id } });
    expect(data.all).toEqual({ totalCount: 0, nodes: [] });
    expect(new Set(data.mineEvents.nodes.map((n) => n.service.id))).toEqual(new Set([mine!.id]));
    expect(data.mineEvents.aggregate.byService).toEqual([{ service: { id: mine!.id } }]);
    const runs = await f.gql(`{ ingestRuns { totalCount } }`, {}, as);
    expect(runs.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('lists ingest runs newest first and the action catalog', async () => {
    const data = await f.gqlData<{ ingestRuns: unknown; lunaActions: { code: string }[] }>(
      `{ ingestRuns(first: 5) { totalCount nodes { kind state inserted rejected } pageInfo { hasNextPage hasPreviousPage } } lunaActions { code category description } }`,
    );
    const inserted = (await sql<{ n: number }>`select count(*)::int as n from audit_events`.execute(f.t.db)).rows[0]!.n;
    expect(data.ingestRuns).toEqual({
      totalCount: 1,
      nodes: [{ kind: 'backfill', state: 'succeeded', inserted, rejected: 0 }],
      pageInfo: { hasNextPage: false, hasPreviousPage: false },
    });
    expect(data.lunaActions).toHaveLength(47);
    expect(data.lunaActions.find((a) => a.code === 'LUNA_SIGN')).toEqual({
      code: 'LUNA_SIGN',
      category: 'CRYPTO',
      description: 'Signs data.',
    });
  });
});
