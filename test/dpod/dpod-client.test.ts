import { DpodRequestError, type DpodService } from '../../src/dpod';
import { startSimulator, type RunningSimulator, type SimService } from '../../src/simulator';
import { clientFor } from './client-fixture';

const NOW = new Date('2026-11-20T12:34:56.789Z');

function expected(s: SimService, tenantId: string): DpodService {
  return {
    id: s.id,
    name: s.name,
    serviceType: s.serviceType,
    partitionSerialNumber: s.partitionSerialNumber,
    status: 'ACTIVE',
    createdAt: s.createdAt,
    tenantId,
  };
}

describe('DpodClient platform API', () => {
  let sim: RunningSimulator;
  let variants: RunningSimulator;

  beforeAll(async () => {
    sim = await startSimulator({ now: () => NOW, services: 5, clientsPerService: 7 });
    variants = await startSimulator({ now: () => NOW, services: 5, clientsPerService: 7, apiShape: 'variants' });
  });
  afterAll(async () => {
    await sim.stop();
    await variants.stop();
  });
  beforeEach(() => sim.resetStats());

  it('lists all services across several pages', async () => {
    const { client, calls } = clientFor(sim, { pageSize: 3 });
    const services = await client.listServices();
    const listed = sim.tenant.listedServices();
    expect(listed).toHaveLength(8);
    expect(services).toEqual(listed.map((s) => expected(s, sim.tenant.tenantId)));
    expect(sim.stats()).toEqual({ 'POST /oauth/token': 1, 'GET /v1/service_instances': 3 });
    expect(calls.map((c) => [c.route, c.status, c.attempt])).toEqual([
      ['POST /oauth/token', 200, 1],
      ['GET /v1/service_instances', 200, 1],
      ['GET /v1/service_instances', 200, 1],
      ['GET /v1/service_instances', 200, 1],
    ]);
    expect(client.callStats().map(({ route, status, count }) => ({ route, status, count }))).toEqual([
      { route: 'POST /oauth/token', status: 200, count: 1 },
      { route: 'GET /v1/service_instances', status: 200, count: 3 },
    ]);
  });

  it('returns one page with Spring paging fields, and filters by type', async () => {
    const { client } = clientFor(sim);
    const page = await client.listServicesPage({ page: 1, size: 3 });
    expect({ ...page, items: page.items.map((s) => s.id) }).toEqual({
      items: sim.tenant
        .listedServices()
        .slice(3, 6)
        .map((s) => s.id),
      page: 1,
      size: 3,
      totalElements: 8,
      totalPages: 3,
    });
    const other = await client.listServices({ serviceType: 'ctaas' });
    expect(other.map((s) => s.id)).toEqual(
      sim.tenant
        .listedServices()
        .filter((s) => s.serviceType === 'ctaas')
        .map((s) => s.id),
    );
    expect(other).toHaveLength(1);
  });

  it('refuses a page size over 100 without calling DPoD', async () => {
    const { client } = clientFor(sim);
    await expect(client.listServicesPage({ page: 0, size: 101 })).rejects.toBeInstanceOf(DpodRequestError);
    expect(sim.stats()).toEqual({});
  });

  it('reads the camelCase and `id` variants into the same domain objects', async () => {
    const { client } = clientFor(variants, { pageSize: 4 });
    const services = await client.listServices();
    expect(services).toEqual(variants.tenant.listedServices().map((s) => expected(s, variants.tenant.tenantId)));
    const luna = variants.tenant.listedServices()[0]!;
    const bindings = await client.listBindings(luna.id);
    expect(bindings?.map((b) => b.clientId)).toEqual(luna.clients.filter((c) => c.bound).map((c) => c.id));
  });

  it('gets one service, and null for a deleted or unknown one', async () => {
    const { client } = clientFor(sim);
    const [first] = sim.tenant.listedServices();
    const deleted = sim.tenant.services.find((s) => !s.listed)!;
    expect(await client.getService(first!.id)).toEqual(expected(first!, sim.tenant.tenantId));
    expect(await client.getService(deleted.id)).toBeNull();
    expect(await client.getService('00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(sim.statusStats()).toEqual({
      'POST /oauth/token 200': 1,
      'GET /v1/service_instances/{id} 200': 1,
      'GET /v1/service_instances/{id} 404': 2,
    });
  });

  it('lists the bound clients of a service across pages; unbound clients and unknown services give null', async () => {
    const { client } = clientFor(sim, { pageSize: 3 });
    const luna = sim.tenant.listedServices()[1]!;
    const bound = luna.clients.filter((c) => c.bound);
    const unbound = luna.clients.find((c) => !c.bound)!;
    expect(await client.listBindings(luna.id)).toEqual(
      bound.map((c) => ({ serviceId: luna.id, clientId: c.id, name: c.name, createdAt: c.createdAt })),
    );
    expect(sim.stats()['GET /v1/service_instances/{id}/bindings']).toBe(3);
    expect(await client.getBinding(luna.id, bound[2]!.id)).toEqual({
      serviceId: luna.id,
      clientId: bound[2]!.id,
      name: bound[2]!.name,
      createdAt: bound[2]!.createdAt,
    });
    expect(await client.getBinding(luna.id, unbound.id)).toBeNull();
    const deleted = sim.tenant.services.find((s) => !s.listed)!;
    expect(await client.listBindings(deleted.id)).toBeNull();
    expect(await client.listBindingsPage(deleted.id, { page: 0, size: 10 })).toBeNull();
    expect(await client.getBinding(deleted.id, deleted.clients[0]!.id)).toBeNull();
  });

  it('treats ids that cannot be a path segment of their own (".", "..", "", a lone surrogate) as unknown without calling DPoD', async () => {
    const { client, calls } = clientFor(sim);
    const luna = sim.tenant.listedServices()[0]!;
    for (const id of ['.', '..', '', '\ud800']) {
      expect(await client.getService(id)).toBeNull();
      expect(await client.listBindings(id)).toBeNull();
      expect(await client.listBindingsPage(id, { page: 0, size: 10 })).toBeNull();
      expect(await client.getBinding(id, luna.clients[0]!.id)).toBeNull();
      expect(await client.getBinding(luna.id, id)).toBeNull();
    }
    await expect(client.getExport('..')).rejects.toBeInstanceOf(DpodRequestError);
    expect(calls).toEqual([]);
    expect(sim.stats()).toEqual({});
  });

  it('sends ids that only look like dot segments once decoded ("%2e", "%2E%2e") as themselves', async () => {
    const { client } = clientFor(sim);
    expect(await client.getService('%2e')).toBeNull();
    expect(await client.getService('%2E%2e')).toBeNull();
    expect(await client.listBindings('%2e%2e')).toBeNull();
    expect(sim.statusStats()).toEqual({
      'POST /oauth/token 200': 1,
      'GET /v1/service_instances/{id} 404': 2,
      'GET /v1/service_instances/{id}/bindings 404': 1,
    });
  });
});
