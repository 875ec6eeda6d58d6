import { startGraphqlFixture, type GraphqlFixture } from './support/graphql-fixture';
import type { PageInfo } from './support/response-shapes';

let f: GraphqlFixture;
beforeAll(async () => {
  f = await startGraphqlFixture({ services: 130, clientsPerService: 1, eventsPerDay: 0, days: 1, ingest: false });
});
afterAll(() => f?.stop());

const PAGE = `query($first: Int, $after: String, $type: String) {
  services(first: $first, after: $after, serviceType: $type) { totalCount nodes { id name } pageInfo { hasNextPage hasPreviousPage endCursor } }
}`;

/** What {@link PAGE} selects. */
interface Page {
  services: { totalCount: number; nodes: { id: string; name: string | null }[]; pageInfo: PageInfo };
}

async function walk(size: number, type: string | null, services?: string[]) {
  const ids: string[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const vars: Record<string, unknown> = { first: size, after, type };
    const { services: c } = await f.gqlData<Page>(PAGE, vars, services ? { services } : {});
    ids.push(...c.nodes.map((n) => n.id));
    expect(c.pageInfo.hasPreviousPage).toBe(after !== null);
    if (!c.pageInfo.hasNextPage) return { ids, total: c.totalCount };
    after = c.pageInfo.endCursor;
  }
  throw new Error('too many pages');
}

describe('Query.services', () => {
  it("pages over DPoD's own pages and returns every listed service once, in DPoD order", async () => {
    const listed = f.sim.tenant.listedServices();
    expect(listed.length).toBeGreaterThan(150);
    f.resetCounts();
    const { ids, total } = await walk(70, null);
    expect(ids).toEqual(listed.map((s) => s.id));
    expect(total).toBe(listed.length);
    // 3 GraphQL pages over 2 DPoD pages of 100: pages are fetched only where the window needs them.
    expect(f.sim.stats()['GET /v1/service_instances']).toBeLessThanOrEqual(5);
  });

  it('filters by service type', async () => {
    const { ids } = await walk(50, 'key_vault');
    expect(ids).toEqual(
      f.sim.tenant
        .listedServices()
        .filter((s) => s.serviceType === 'key_vault')
        .map((s) => s.id),
    );
  });

  it("lists only the caller's services when confined", async () => {
    const mine = f.sim.tenant
      .listedServices()
      .slice(120, 125)
      .map((s) => s.id);
    const { ids, total } = await walk(2, null, mine);
    expect(ids).toEqual(mine);
    expect(total).toBe(5);
  });

  it('rejects a page size above the limit and a foreign cursor', async () => {
    const big = await f.gql(PAGE, { first: 501 });
    expect(big.errors?.map((e) => e.message)).toEqual(['first must be between 1 and 500 (got 501)']);
    const bad = await f.gql(PAGE, { first: 5, after: 'YWUxOjE6MQ' });
    expect(bad.errors?.map((e) => e.extensions?.code)).toEqual(['INVALID_CURSOR']);
  });
});
