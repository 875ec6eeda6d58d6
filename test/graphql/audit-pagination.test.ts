import { sql } from 'kysely';
import { startGraphqlFixture, type GraphqlFixture } from './support/graphql-fixture';
import type { Id, Nodes, PageInfo } from './support/response-shapes';

let f: GraphqlFixture;
beforeAll(async () => {
  f = await startGraphqlFixture({ seed: 11, services: 2, clientsPerService: 3, eventsPerDay: 300, days: 2 });
});
afterAll(() => f?.stop());

const PAGE = `query Page($filter: AuditEventFilter, $first: Int, $after: String, $last: Int, $before: String, $orderBy: AuditEventOrder) {
  auditEvents(filter: $filter, first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    totalCount
    edges { cursor node { id time } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

type Order = 'TIME_ASC' | 'TIME_DESC';

/** What {@link PAGE} selects. */
interface Page {
  auditEvents: {
    totalCount: number;
    edges: { cursor: string; node: { id: string; time: string } }[];
    pageInfo: PageInfo;
  };
}

/** The ids (global) of every matching event in the given order, straight from SQL. */
async function expectedIds(where: ReturnType<typeof sql>, order: Order): Promise<string[]> {
  const dir = sql.raw(order === 'TIME_ASC' ? 'asc' : 'desc');
  const { rows } = await sql<{ us: string; id: string }>`
    select (extract(epoch from time) * 1000000)::bigint::text as us, id::text as id
      from audit_events where ${where} order by time ${dir}, id ${dir}`.execute(f.t.db);
  return rows.map((r) => Buffer.from(`AuditEvent:${r.us}:${r.id}`).toString('base64url'));
}

/** Walks every page forwards (first/after) or backwards (last/before); returns ids in list order. */
async function walk(
  filter: Record<string, unknown>,
  order: Order,
  size: number,
  backward: boolean,
): Promise<{ ids: string[]; pages: number }> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const vars: Record<string, unknown> = backward
      ? { filter, orderBy: order, last: size, before: cursor }
      : { filter, orderBy: order, first: size, after: cursor };
    const { auditEvents: c } = await f.gqlData<Page>(PAGE, vars);
    const ids = c.edges.map((e) => e.node.id);
    pages.push(ids);
    const more = backward ? c.pageInfo.hasPreviousPage : c.pageInfo.hasNextPage;
    // The other direction is exact too: every page after the first has neighbours behind it.
    expect(backward ? c.pageInfo.hasNextPage : c.pageInfo.hasPreviousPage).toBe(cursor !== null);
    if (!more) break;
    expect(ids).toHaveLength(size);
    cursor = backward ? c.pageInfo.startCursor : c.pageInfo.endCursor;
  }
  const ordered = backward ? pages.reverse() : pages;
  return { ids: ordered.flat(), pages: pages.length };
}

describe('auditEvents pagination', () => {
  const service = () => f.sim.tenant.listedServices().find((s) => s.hasAuditData)!;

  it.each([
    ['forwards, newest first', 'TIME_DESC', false],
    ['forwards, oldest first', 'TIME_ASC', false],
    ['backwards, newest first', 'TIME_DESC', true],
    ['backwards, oldest first', 'TIME_ASC', true],
  ] as const)(
    'walks %s over a filter and returns every matching event exactly once',
    async (_name, order, backward) => {
      const s = service();
      const filter = {
        serviceIds: [s.id],
        succeeded: true,
        from: new Date(f.from.getTime() + 3_600_000 + 1234).toISOString(),
      };
      const expected = await expectedIds(
        sql`service_id = ${s.id} and status = 'LUNA_RET_OK' and time >= ${filter.from}::timestamptz`,
        order,
      );
      expect(expected.length).toBeGreaterThan(200);
      const { ids, pages } = await walk(filter, order, 97, backward);
      expect(ids).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 97));
    },
  );

  it('walks the whole store with the largest page size', async () => {
    const expected = await expectedIds(sql`true`, 'TIME_DESC');
    const { ids } = await walk({}, 'TIME_DESC', 500, false);
    expect(ids).toEqual(expected);
  });

  it('walks filters on client IPs (CIDR), roles and object ids', async () => {
    const client = service().clients[0]!;
    const cidr = `${client.clientIp.split('.').slice(0, 2).join('.')}.0.0/16`;
    const expectedByIp = await expectedIds(
      sql`client_ip <<= ${cidr}::inet and role = any(${['CO', 'CU']}::text[])`,
      'TIME_ASC',
    );
    expect(expectedByIp.length).toBeGreaterThan(0);
    expect((await walk({ clientIps: [cidr], roles: ['CO', 'CU'] }, 'TIME_ASC', 50, false)).ids).toEqual(expectedByIp);

    const { rows } = await sql<{
      o: string;
    }>`select object_ids[1] as o from audit_events where cardinality(object_ids) > 0 limit 1`.execute(f.t.db);
    const objectId = rows[0]!.o;
    const expectedByObject = await expectedIds(sql`${objectId} = any(object_ids)`, 'TIME_DESC');
    expect((await walk({ objectId }, 'TIME_DESC', 3, true)).ids).toEqual(expectedByObject);
  });

  it('reports exact totals and neighbours on one page', async () => {
    const s = service();
    const all = await expectedIds(sql`service_id = ${s.id}`, 'TIME_DESC');
    const first = (await f.gqlData<Page>(PAGE, { filter: { serviceIds: [s.id] }, first: 5 })).auditEvents;
    expect(first.totalCount).toBe(all.length);
    expect(first.edges.map((e) => e.node.id)).toEqual(all.slice(0, 5));
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const last = (await f.gqlData<Page>(PAGE, { filter: { serviceIds: [s.id] }, last: 5 })).auditEvents;
    expect(last.edges.map((e) => e.node.id)).toEqual(all.slice(-5));
    expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
  });

  it('resolves an event by its id, and rejects an altered id', async () => {
    const page = await f.gqlData<{ auditEvents: Nodes<Id> }>(
      `{ auditEvents(first: 1) { nodes { id time action service { id } } } }`,
    );
    const node = page.auditEvents.nodes[0];
    expect(node).toBeDefined();
    const one = await f.gql(`query($id: ID!) { auditEvent(id: $id) { id time action service { id } } }`, {
      id: node?.id,
    });
    expect(one).toEqual({ data: { auditEvent: node } });
    const bad = await f.gql(`query($id: ID!) { auditEvent(id: $id) { id } }`, { id: 'not-an-id' });
    expect(bad.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('answers a tampered cursor, a page size above the limit and mixed directions with clear errors', async () => {
    const page = await f.gqlData<Page>(PAGE, { first: 2 });
    const cursor = page.auditEvents.pageInfo.endCursor ?? '';
    expect(cursor).not.toBe('');
    const tampered =
      Buffer.from(Buffer.from(cursor, 'base64url').toString().replace(/:(\d)/, ':9$1')).toString('base64url') + 'x';
    for (const bad of [
      tampered,
      'garbage',
      `${cursor}A`,
      Buffer.from('ae1:abc:1').toString('base64url'),
      Buffer.from(Buffer.from(cursor, 'base64url').toString().replace(/:(\d)/, ':1$1')).toString('base64url'),
    ]) {
      const body = await f.gql(PAGE, { first: 2, after: bad });
      expect(body.data).toBeNull();
      expect(body.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([
        [
          'INVALID_CURSOR',
          "after is not a valid cursor: pass a cursor returned by this connection's pageInfo or edges, unchanged",
        ],
      ]);
    }
    const big = await f.gql(PAGE, { first: 501 });
    expect(big.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([
      ['PAGE_SIZE_EXCEEDED', 'first must be between 1 and 500 (got 501)'],
    ]);
    const zero = await f.gql(PAGE, { last: 0 });
    expect(zero.errors?.map((e) => e.extensions?.code)).toEqual(['PAGE_SIZE_EXCEEDED']);
    const mixed = await f.gql(PAGE, { first: 2, before: cursor });
    expect(mixed.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    const badIp = await f.gql(PAGE, { filter: { clientIps: ['10.0.0.0/33'] } });
    expect(badIp.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([
      [
        'BAD_USER_INPUT',
        'filter.clientIps: "10.0.0.0/33" is neither an IP address nor a CIDR block (e.g. 10.0.0.7 or 10.0.0.0/8)',
      ],
    ]);
  });

  it('reads one keyset page per level for nested connections (Service.auditEvents of every service in one SQL query)', async () => {
    const ids = f.sim.tenant.services.map((s) => s.id);
    const aliases = ids
      .map((id, i) => `s${i}: service(id: "${id}") { id auditEvents(first: 4, orderBy: TIME_ASC) { nodes { id } } }`)
      .join('\n');
    f.resetCounts();
    const data = await f.gqlData<Record<string, { auditEvents: Nodes<Id> }>>(`{ ${aliases} }`);
    expect(f.sqlCount()).toBe(1);
    for (const [i, id] of ids.entries()) {
      const expected = (await expectedIds(sql`service_id = ${id}`, 'TIME_ASC')).slice(0, 4);
      expect(data[`s${i}`]?.auditEvents.nodes.map((n) => n.id)).toEqual(expected);
    }
  });

  it('pages Client.actions backwards for many clients in one SQL query, with exact neighbours', async () => {
    // Clients with events in the store (an unbound client's traffic ends two days before now: none in these two).
    const acting = new Set(
      (await sql<{ id: string }>`select distinct client_id as id from audit_events`.execute(f.t.db)).rows.map(
        (r) => r.id,
      ),
    );
    const clients = f.sim.tenant.services
      .filter((s) => s.hasAuditData)
      .flatMap((s) => s.clients)
      .filter((c) => acting.has(c.id))
      .slice(0, 6);
    expect(clients).toHaveLength(6);
    const aliases = clients
      .map(
        (c, i) =>
          `c${i}: client(id: "${c.id}") { actions(last: 3, orderBy: TIME_ASC, filter: { succeeded: true }) { nodes { id } pageInfo { hasNextPage hasPreviousPage } } }`,
      )
      .join('\n');
    const homes = await f.gql(`{ ${clients.map((c, i) => `c${i}: client(id: "${c.id}") { id }`).join(' ')} }`);
    expect(homes.errors).toBeUndefined();
    f.resetCounts();
    const data = await f.gqlData<Record<string, { actions: unknown }>>(`{ ${aliases} }`);
    // One lookup of the clients' services (Query.client) and one keyset page query for all of them.
    expect(f.sqlCount()).toBe(2);
    for (const [i, c] of clients.entries()) {
      const all = await expectedIds(sql`client_id = ${c.id} and status = 'LUNA_RET_OK'`, 'TIME_ASC');
      expect(data[`c${i}`]?.actions).toEqual({
        nodes: all.slice(-3).map((id) => ({ id })),
        pageInfo: { hasNextPage: false, hasPreviousPage: all.length > 3 },
      });
    }
  });
});
