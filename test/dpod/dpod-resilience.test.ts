import { DpodAuthError, DpodUnavailableError } from '../../src/dpod';
import { generateRecords, renderRecordLine, startSimulator, type RunningSimulator } from '../../src/simulator';
import { clientFor, gunzipLines, readAll } from './client-fixture';
import { containing } from '../support/matchers';

const NOW = new Date('2026-11-20T12:34:56.789Z');
const FROM = new Date('2026-11-20T00:00:00Z');

describe('DpodClient resilience', () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startSimulator({
      now: () => NOW,
      services: 6,
      clientsPerService: 12,
      eventsPerDay: 800,
      days: 2,
      exportDelayMs: 20,
    });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.resetStats();
    sim.setFault('*', null);
  });

  it('survives 30% 5xx and 10% 429 on every route and still returns complete data', async () => {
    sim.setFault('*', { errorRate: 0.3, rateLimitRate: 0.1, retryAfterSeconds: 0.01 });
    const { client, calls } = clientFor(sim, { pageSize: 2, maxRetries: 12 });
    const services = await client.listServices();
    expect(services.map((s) => s.id)).toEqual(sim.tenant.listedServices().map((s) => s.id));
    for (const s of sim.tenant.listedServices()) {
      const bindings = await client.listBindings(s.id);
      expect(bindings?.map((b) => b.clientId)).toEqual(s.clients.filter((c) => c.bound).map((c) => c.id));
    }
    const job = await client.waitForExport((await client.createExport({ from: FROM, to: NOW })).jobId, {
      pollIntervalMs: 10,
    });
    const lines = gunzipLines(await readAll(await client.downloadExport(job.location!)));
    expect(lines).toEqual([...generateRecords(sim.tenant, FROM, NOW)].map(renderRecordLine));
    const statuses = sim.statusStats();
    const count = (suffix: string) =>
      Object.entries(statuses)
        .filter(([k]) => k.endsWith(suffix))
        .reduce((n, [, v]) => n + v, 0);
    expect(count(' 503')).toBeGreaterThan(5);
    expect(count(' 429')).toBeGreaterThan(1);
    // Every failed attempt was retried: the calls the client saw match the responses the simulator gave.
    expect(calls.filter((c) => c.status === 503).length).toBe(count(' 503'));
    expect(calls.filter((c) => c.status === 429).length).toBe(count(' 429'));
  });

  it('honours Retry-After on 429', async () => {
    sim.setFault('GET /v1/service_instances/{id}', { rateLimitRate: 1, retryAfterSeconds: 0.2, times: 1 });
    const { client, calls } = clientFor(sim, { retryBaseMs: 1, retryMaxMs: 1 });
    const id = sim.tenant.listedServices()[0]!.id;
    expect((await client.getService(id))?.id).toBe(id);
    expect(calls.filter((c) => c.route !== 'POST /oauth/token').map((c) => [c.status, c.attempt])).toEqual([
      [429, 1],
      [200, 2],
    ]);
  });

  it('does not retry 4xx other than 401 and 429', async () => {
    sim.setFault('GET /v1/service_instances', { errorRate: 1, errorStatus: 403 });
    const { client } = clientFor(sim);
    await expect(client.listServicesPage({ page: 0, size: 10 })).rejects.toMatchObject({
      name: 'DpodRequestError',
      status: 403,
      attempts: 1,
    });
    expect(sim.stats()['GET /v1/service_instances']).toBe(1);
  });

  it('gives up with DpodUnavailableError after maxRetries', async () => {
    sim.setFault('GET /v1/service_instances', { errorRate: 1, errorStatus: 502 });
    const { client } = clientFor(sim, { maxRetries: 3 });
    const call = client.listServicesPage({ page: 0, size: 10 });
    await expect(call).rejects.toBeInstanceOf(DpodUnavailableError);
    await expect(call).rejects.toMatchObject({
      status: 502,
      attempts: 4,
      call: 'listServicesPage',
      route: 'GET /v1/service_instances',
      retryable: true,
    });
    await expect(call).rejects.toThrow(/Injected 502/);
    expect(sim.stats()['GET /v1/service_instances']).toBe(4);
  });

  it('stops retrying at the total deadline', async () => {
    sim.setFault('GET /v1/service_instances', { errorRate: 1 });
    const { client } = clientFor(sim, { maxRetries: 1000, retryBaseMs: 50, retryMaxMs: 50, deadlineMs: 400 });
    const call = client.listServicesPage({ page: 0, size: 10 });
    await expect(call).rejects.toBeInstanceOf(DpodUnavailableError);
    await expect(call).rejects.toThrow(/deadline/);
    const attempts = sim.stats()['GET /v1/service_instances']!;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThan(20);
  });

  it('times out a slow attempt and retries it', async () => {
    sim.setFault('GET /v1/service_instances/{id}', { latencyMs: 400 });
    const { client, calls } = clientFor(sim, { timeoutMs: 50, maxRetries: 2 });
    const call = client.getService(sim.tenant.listedServices()[0]!.id);
    await expect(call).rejects.toMatchObject({ name: 'DpodUnavailableError', status: 'timeout', attempts: 3 });
    expect(calls.filter((c) => c.route === 'GET /v1/service_instances/{id}').map((c) => c.status)).toEqual([
      'timeout',
      'timeout',
      'timeout',
    ]);
  });

  it('reports network errors as DpodUnavailableError', async () => {
    const { client, calls } = clientFor(sim, { apiUrl: 'http://127.0.0.1:1', maxRetries: 2 });
    await expect(client.getService('x')).rejects.toMatchObject({
      name: 'DpodUnavailableError',
      status: 'network_error',
      attempts: 3,
    });
    expect(calls.filter((c) => c.status === 'network_error')).toHaveLength(3);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    sim.setFault('GET /v1/service_instances/{id}', { latencyMs: 30 });
    const { client } = clientFor(sim, { concurrency: 3 });
    const ids = sim.tenant.listedServices().map((s) => s.id);
    await client.getService(ids[0]!); // token first, so it does not count
    sim.resetStats();
    const results = await Promise.all([...ids, ...ids, ...ids].map((id) => client.getService(id)));
    expect(results.map((s) => s?.id)).toEqual([...ids, ...ids, ...ids]);
    expect(sim.stats()['GET /v1/service_instances/{id}']).toBe(ids.length * 3);
    expect(sim.maxInFlight()).toBe(3);
  });

  it('caches the token across calls', async () => {
    const { client } = clientFor(sim);
    const ids = sim.tenant.listedServices().map((s) => s.id);
    await Promise.all(ids.map((id) => client.getService(id)));
    for (const id of ids) await client.getService(id);
    expect(sim.stats()['POST /oauth/token']).toBe(1);
    expect(client.tokenFetchCount()).toBe(1);
  });

  it('refreshes the token once on a 401, shared by concurrent callers', async () => {
    const { client, calls } = clientFor(sim, { concurrency: 8 });
    const ids = sim.tenant.listedServices().map((s) => s.id);
    await client.getService(ids[0]!);
    sim.expireTokens();
    const results = await Promise.all(ids.map((id) => client.getService(id)));
    expect(results.map((s) => s?.id)).toEqual(ids);
    expect(sim.stats()['POST /oauth/token']).toBe(2);
    expect(sim.statusStats()['GET /v1/service_instances/{id} 401']).toBe(ids.length);
    expect(calls.filter((c) => c.status === 401)).toHaveLength(ids.length);
  });

  it('fails with DpodAuthError when the API refuses even a fresh token', async () => {
    sim.setFault('GET /v1/service_instances', { tokenExpiredRate: 1 });
    const { client } = clientFor(sim);
    const call = client.listServicesPage({ page: 0, size: 5 });
    await expect(call).rejects.toBeInstanceOf(DpodAuthError);
    await expect(call).rejects.toMatchObject({ status: 401, bodyExcerpt: containing('invalid_token') });
    expect(sim.stats()).toEqual({ 'POST /oauth/token': 2, 'GET /v1/service_instances': 2 });
  });

  it('fails with DpodAuthError on bad credentials, without retrying', async () => {
    const { client } = clientFor(sim, { clientSecret: 'wrong' });
    const call = client.listServicesPage({ page: 0, size: 5 });
    await expect(call).rejects.toBeInstanceOf(DpodAuthError);
    await expect(call).rejects.toMatchObject({
      call: 'getToken',
      status: 401,
      bodyExcerpt: containing('Bad credentials'),
    });
    expect(sim.stats()).toEqual({ 'POST /oauth/token': 1 });
  });

  it('fetches a new token shortly before the old one expires', async () => {
    let now = NOW.getTime();
    const clocked = await startSimulator({ now: () => new Date(now), eventsPerDay: 10, tokenTtlSeconds: 3600 });
    try {
      const { client } = clientFor(clocked, { clock: () => now });
      const id = clocked.tenant.listedServices()[0]!.id;
      await client.getService(id);
      now += 3500_000; // 100 s before expiry: still cached
      await client.getService(id);
      expect(clocked.stats()['POST /oauth/token']).toBe(1);
      now += 60_000; // 40 s before expiry: refreshed ahead of time, no 401
      await client.getService(id);
      expect(clocked.statusStats()).toEqual({ 'POST /oauth/token 200': 2, 'GET /v1/service_instances/{id} 200': 3 });
    } finally {
      await clocked.stop();
    }
  });
});
