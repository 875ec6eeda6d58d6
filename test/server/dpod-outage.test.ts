import { gql } from './support/http';
import { startSeededApp, type SeededApp } from './support/seeded-app';

let seeded: SeededApp;

beforeAll(async () => {
  // A zero TTL: nothing live is cached, so every lookup goes to the (failing) simulator.
  seeded = await startSeededApp({ env: { DPOD_CACHE_TTL_SECONDS: '0' } });
}, 120_000);

afterAll(async () => {
  await seeded?.stop();
});

it('serves audit data with DPOD_UNAVAILABLE errors, not a failed request, while DPoD is down', async () => {
  seeded.sim.setFault('*', { errorRate: 1, errorStatus: 503 });
  try {
    const res = await gql<{
      auditEvents: { totalCount: number; nodes: { action: unknown; service: unknown; client: unknown }[] };
    }>(
      seeded.url,
      '{ auditEvents(first: 3, orderBy: TIME_ASC) { totalCount nodes { action service { name inDpod } client { bound } } } }',
    );
    expect(res.status).toBe(200);
    const events = res.body.data!.auditEvents;
    expect(events.totalCount).toBeGreaterThan(0);
    expect(events.nodes).toHaveLength(3);
    for (const n of events.nodes) {
      expect(typeof n.action).toBe('string');
      expect(n.service).toEqual({ name: null, inDpod: false });
      expect(n.client).toEqual({ bound: false });
    }
    const errors = res.body.errors ?? [];
    const codes = new Set(errors.map((e) => e.extensions?.code));
    expect([...codes]).toEqual(['DPOD_UNAVAILABLE']);
    // name (null), inDpod and bound (answered false without confirmation) each say so at their own path.
    const paths = errors.map((e) => (e.path ?? []).slice(-2).join('.')).sort();
    expect(paths).toEqual(
      [
        'service.name',
        'service.name',
        'service.name',
        'client.bound',
        'client.bound',
        'client.bound',
        'service.inDpod',
        'service.inDpod',
        'service.inDpod',
      ].sort(),
    );
  } finally {
    seeded.sim.setFault('*', null);
  }
  const healthy = await gql(seeded.url, '{ auditEvents(first: 1) { nodes { service { inDpod } } } }');
  expect(healthy.body.errors).toBeUndefined();
});
