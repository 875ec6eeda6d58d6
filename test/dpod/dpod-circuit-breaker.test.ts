import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { clientFor } from './client-fixture';

const ROUTE = 'GET /v1/service_instances/{id}';

describe('DpodClient circuit breaker', () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startSimulator({ services: 2, clientsPerService: 2, eventsPerDay: 10, days: 1 });
  });
  afterAll(() => sim.stop());
  const firstService = () => {
    const [service] = sim.tenant.listedServices();
    if (!service) throw new Error('the simulator lists no service');
    return service;
  };
  beforeEach(() => {
    sim.resetStats();
    sim.setFault('*', null);
    sim.setFault(ROUTE, null);
  });

  it('after a call gives up, later calls make one probe attempt each instead of their retries', async () => {
    const { client } = clientFor(sim, { maxRetries: 3 });
    const id = firstService().id;
    await client.getService(id); // fetches the token while DPoD is up
    sim.resetStats();
    sim.setFault(ROUTE, { errorRate: 1, errorStatus: 503 });
    await expect(client.getService(id)).rejects.toMatchObject({
      name: 'DpodUnavailableError',
      status: 503,
      attempts: 4,
    });
    await expect(client.getService(id)).rejects.toMatchObject({
      name: 'DpodUnavailableError',
      status: 503,
      attempts: 1,
    });
    await expect(client.getService(id)).rejects.toMatchObject({
      name: 'DpodUnavailableError',
      status: 503,
      attempts: 1,
    });
    expect(sim.stats()[ROUTE]).toBe(6);
  });

  it("answers the first call after DPoD is back with DPoD's data, through one probe", async () => {
    const { client } = clientFor(sim, { maxRetries: 1 });
    const service = firstService();
    await client.getService(service.id);
    sim.setFault(ROUTE, { errorRate: 1, errorStatus: 503 });
    await expect(client.getService(service.id)).rejects.toMatchObject({ status: 503, attempts: 2 });
    sim.setFault(ROUTE, null);
    sim.resetStats();
    const [first, second] = await Promise.all([client.getService(service.id), client.getService(service.id)]);
    expect(first?.id).toBe(service.id);
    expect(second?.id).toBe(service.id);
    expect(sim.stats()[ROUTE]).toBe(2);
  });
});
