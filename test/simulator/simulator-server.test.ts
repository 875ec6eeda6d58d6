import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { anyOf, matching } from '../support/matchers';

const NOW = new Date('2026-11-20T12:34:56.789Z');

async function token(sim: RunningSimulator): Promise<string> {
  const res = await fetch(sim.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=${sim.clientId}&client_secret=${sim.clientSecret}`,
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Calls the simulator; `TBody` is the JSON shape the test expects (a body that is not JSON stays text). */
async function call<TBody = unknown>(
  sim: RunningSimulator,
  path: string,
  init: RequestInit & { token?: string } = {},
): Promise<{ status: number; body: TBody; headers: Headers }> {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(`${sim.url}${path}`, { ...init, headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: body as TBody, headers: res.headers };
}

describe('simulator HTTP API', () => {
  let sim: RunningSimulator;
  let tok: string;

  beforeAll(async () => {
    sim = await startSimulator({
      now: () => NOW,
      eventsPerDay: 200,
      days: 2,
      clientId: 'app-1',
      clientSecret: 's3cret',
    });
    tok = await token(sim);
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.resetStats());

  it('issues a JWT-shaped bearer token for form credentials and for HTTP Basic', async () => {
    const form = await call<{ access_token: string }>(sim, '/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=app-1&client_secret=s3cret',
    });
    expect(form.status).toBe(200);
    expect(form.body).toEqual({
      access_token: matching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      token_type: 'bearer',
      expires_in: 3599,
      scope: `dpod.tenant.api_appowner dpod.tuid.${sim.tenant.tenantId}`,
      jti: anyOf(String),
    });
    const claims: unknown = JSON.parse(Buffer.from(form.body.access_token.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ client_id: 'app-1', exp: Math.floor(NOW.getTime() / 1000) + 3599 });
    const basic = await call(sim, '/oauth/v1/token', {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('app-1:s3cret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    expect(basic.status).toBe(200);
  });

  it('refuses bad credentials with 401 and other grant types with 400', async () => {
    const bad = await call(sim, '/oauth/token', {
      method: 'POST',
      body: 'grant_type=client_credentials&client_id=app-1&client_secret=nope',
    });
    expect(bad).toMatchObject({ status: 401, body: { error: 'unauthorized', error_description: 'Bad credentials' } });
    const grant = await call(sim, '/oauth/token', {
      method: 'POST',
      body: 'grant_type=password&client_id=app-1&client_secret=s3cret',
    });
    expect(grant).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
  });

  it('answers 401 to API calls without, with a forged or with an expired token', async () => {
    expect((await call(sim, '/v1/service_instances')).status).toBe(401);
    const forged = `${tok.slice(0, -3)}abc`;
    const r = await call(sim, '/v1/service_instances', { token: forged });
    expect(r).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    let now = NOW.getTime();
    const clocked = await startSimulator({ now: () => new Date(now), tokenTtlSeconds: 60 });
    try {
      const t = await token(clocked);
      expect((await call(clocked, '/v1/service_instances', { token: t })).status).toBe(200);
      now += 61_000;
      expect(await call(clocked, '/v1/service_instances', { token: t })).toMatchObject({
        status: 401,
        body: { error_description: 'Access token expired' },
      });
    } finally {
      await clocked.stop();
    }
  });

  it('pages service instances Spring-style and validates paging', async () => {
    const page = await call<{ content: Record<string, unknown>[] }>(sim, '/v1/service_instances?page=1&size=4', {
      token: tok,
    });
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({
      totalElements: 6,
      totalPages: 2,
      number: 1,
      size: 4,
      numberOfElements: 2,
      first: false,
      last: true,
    });
    expect(page.body.content.map((s) => s.service_id)).toEqual(
      sim.tenant
        .listedServices()
        .slice(4)
        .map((s) => s.id),
    );
    expect(Object.keys(page.body.content[0] ?? {})).toEqual([
      'service_id',
      'name',
      'serviceType',
      'partition_serial_number',
      'status',
      'servicePlan',
      'createdAt',
      'createdBy',
      'tenantId',
    ]);
    const beyond = await call(sim, '/v1/service_instances?page=9&size=4', { token: tok });
    expect(beyond.body).toMatchObject({ content: [], totalElements: 6 });
    expect(await call(sim, '/v1/service_instances?size=101', { token: tok })).toMatchObject({
      status: 400,
      body: { status: 400, error: 'Bad Request', message: 'size must be between 1 and 100, got 101' },
    });
    expect((await call(sim, '/v1/service_instances?page=-1', { token: tok })).status).toBe(400);
    expect((await call(sim, '/v1/service_instances?size=0', { token: tok })).status).toBe(400);
  });

  it('serves one service, its bindings and one binding; 404 for the deleted service and unbound clients', async () => {
    const s = sim.tenant.listedServices()[0]!;
    expect((await call(sim, `/v1/service_instances/${s.id}`, { token: tok })).body).toMatchObject({
      service_id: s.id,
      name: s.name,
      serviceType: 'key_vault',
    });
    const bindings = await call<{ content: { clientId: string }[] }>(
      sim,
      `/v1/service_instances/${s.id}/bindings?page=0&size=100`,
      { token: tok },
    );
    expect(bindings.body.content.map((b) => b.clientId)).toEqual(s.clients.filter((c) => c.bound).map((c) => c.id));
    const bound = s.clients.find((c) => c.bound)!;
    const unbound = s.clients.find((c) => !c.bound)!;
    expect((await call(sim, `/v1/service_instances/${s.id}/bindings/${bound.id}`, { token: tok })).body).toMatchObject({
      clientId: bound.id,
      name: bound.name,
    });
    expect((await call(sim, `/v1/service_instances/${s.id}/bindings/${unbound.id}`, { token: tok })).status).toBe(404);
    const deleted = sim.tenant.services.find((x) => !x.listed)!;
    expect(await call(sim, `/v1/service_instances/${deleted.id}`, { token: tok })).toMatchObject({
      status: 404,
      body: { status: 404, error: 'Not Found' },
    });
    expect((await call(sim, `/v1/service_instances/${deleted.id}/bindings`, { token: tok })).status).toBe(404);
  });

  it('validates export requests with 400 and a message', async () => {
    const post = (body: string) =>
      call<{ message?: string }>(sim, '/v1/audit-log-exports', {
        method: 'POST',
        token: tok,
        headers: { 'content-type': 'application/json' },
        body,
      });
    expect(await post('{"from":"2026-11-01T00:00:00Z","to":"2026-12-02T00:00:01Z"}')).toMatchObject({
      status: 400,
      body: { message: 'The requested time range exceeds the maximum of 31 days' },
    });
    expect((await post('{"from":"2026-11-01T00:00:00Z","to":"2026-12-02T00:00:00Z"}')).status).toBe(201);
    expect((await post('{"from":"2026-11-02T00:00:00Z","to":"2026-11-01T00:00:00Z"}')).body.message).toMatch(
      /'from' .* must be before 'to'/,
    );
    expect((await post('{"from":"yesterday","to":"2026-11-01T00:00:00Z"}')).body.message).toMatch(
      /'from' must be an RFC 3339 date-time/,
    );
    expect((await post('{"to":"2026-11-01T00:00:00Z"}')).body.message).toMatch(/'from' is required/);
    expect((await post('not json')).status).toBe(400);
    expect((await call(sim, '/v1/audit-log-exports/00000000-0000-4000-8000-000000000000', { token: tok })).status).toBe(
      404,
    );
  });

  it('signs download URLs for the host the caller used', async () => {
    const port = new URL(sim.url).port;
    const created = await fetch(`http://localhost:${port}/v1/audit-log-exports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
      body: '{"from":"2026-11-20T00:00:00Z","to":"2026-11-20T01:00:00Z"}',
    });
    const { jobId } = (await created.json()) as { jobId: string };
    let job: { state: string; location: string | null } = { state: 'ACTIVE', location: null };
    while (job.state === 'ACTIVE') {
      await new Promise((r) => setTimeout(r, 50));
      job = (await (
        await fetch(`http://localhost:${port}/v1/audit-log-exports/${jobId}`, {
          headers: { authorization: `Bearer ${tok}` },
        })
      ).json()) as typeof job;
    }
    expect(job.location).toMatch(
      new RegExp(
        `^http://localhost:${port}/exports/${jobId}/audit-logs\\.json\\.gz\\?X-Sim-Expires=\\d+&X-Sim-Signature=[0-9a-f]{64}$`,
      ),
    );
    const withAuth = await fetch(job.location!, { headers: { authorization: `Bearer ${tok}` } });
    expect(withAuth.status).toBe(400);
    expect(await withAuth.text()).toContain('Only one auth mechanism allowed');
    const download = await fetch(job.location!);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });

  it('counts requests per route over HTTP and resets them', async () => {
    await call(sim, '/v1/service_instances', { token: tok });
    await call(sim, '/v1/service_instances?size=500', { token: tok });
    const stats = await call(sim, '/__sim/stats');
    expect(stats.body).toEqual({
      requests: { 'GET /v1/service_instances': 2 },
      responses: { 'GET /v1/service_instances 200': 1, 'GET /v1/service_instances 400': 1 },
      maxInFlight: 1,
    });
    expect((await call(sim, '/__sim/stats/reset', { method: 'POST' })).status).toBe(200);
    expect(sim.stats()).toEqual({});
  });

  it('injects faults set over HTTP: errors, 429 with Retry-After, then none after `times`', async () => {
    const set = await call(sim, '/__sim/faults', {
      method: 'POST',
      body: JSON.stringify({
        route: 'GET /v1/service_instances',
        fault: { rateLimitRate: 1, retryAfterSeconds: 7, times: 2 },
      }),
    });
    expect(set.status).toBe(200);
    const first = await call(sim, '/v1/service_instances', { token: tok });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect((await call(sim, '/v1/service_instances', { token: tok })).status).toBe(429);
    expect((await call(sim, '/v1/service_instances', { token: tok })).status).toBe(200);
    sim.setFault('*', { errorRate: 1, errorStatus: 500 });
    expect(
      await call(sim, `/v1/service_instances/${sim.tenant.listedServices()[0]!.id}`, { token: tok }),
    ).toMatchObject({ status: 500, body: { message: 'Injected 500 Internal Server Error' } });
    sim.setFault('*', null);
    expect((await call(sim, '/v1/service_instances', { token: tok })).status).toBe(200);
  });

  it('says what it generated for a window', async () => {
    const { summarizeRecords } = await import('../../src/simulator');
    const from = '2026-11-19T00:00:00.000Z';
    const to = '2026-11-20T00:00:00.000Z';
    const r = await call<{ total: number }>(sim, `/__sim/summary?from=${from}&to=${to}`);
    expect(r.body).toEqual({ from, to, ...summarizeRecords(sim.tenant, new Date(from), new Date(to)) });
    expect(r.body.total).toBeGreaterThan(100);
  });

  it('stops and frees its port', async () => {
    const other = await startSimulator();
    const url = other.url;
    await other.stop();
    await expect(fetch(`${url}/__sim/stats`)).rejects.toThrow();
  });
});
