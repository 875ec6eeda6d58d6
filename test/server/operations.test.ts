import { sql } from 'kysely';
import { gql } from './support/http';
import { startSeededApp, type SeededApp } from './support/seeded-app';
import { anyOf } from '../support/matchers';

let seeded: SeededApp;

beforeAll(async () => {
  seeded = await startSeededApp({ env: { STATEMENT_TIMEOUT_MS: '2500' } });
}, 120_000);

afterAll(async () => {
  await seeded?.stop();
});

/** Parses Prometheus text into `name{labels}` -> value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

it('runs GraphQL SQL under the configured statement_timeout', async () => {
  const { rows } = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(seeded.app.database.db);
  expect(rows).toEqual([{ statement_timeout: '2500ms' }]);
});

it('reports readiness with database, migrations and DPoD reachability', async () => {
  const res = await fetch(`${seeded.url}/readyz`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { status: string; checks: Record<string, unknown> };
  expect(body.status).toBe('ready');
  expect(body.checks.database).toEqual({ ok: true });
  expect(body.checks.migrations).toEqual({ ok: true });
  expect(body.checks.dpod).toEqual({ ok: true, latencyMs: anyOf(Number) });
});

it('exposes HTTP, operation, error, DPoD, cache and ingest series in Prometheus format after traffic', async () => {
  for (let i = 0; i < 3; i++) {
    const res = await gql(seeded.url, 'query CountEvents { auditEvents { totalCount } }');
    expect(res.body.errors).toBeUndefined();
  }
  for (let i = 0; i < 2; i++) {
    const res = await gql(
      seeded.url,
      'query LiveServices { services(first: 10) { nodes { id name clients(first: 5) { nodes { name } } } } }',
    );
    expect(res.body.errors).toBeUndefined();
  }
  let deep = 'id';
  for (let i = 0; i < 6; i++) deep = `id clients(first: 1) { nodes { id service { ${deep} } } }`;
  const bomb = await gql(seeded.url, `query Bomb { services(first: 1) { nodes { ${deep} } } }`);
  expect(bomb.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_DEEP');

  const res = await fetch(`${seeded.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const m = parseMetrics(text);

  expect(m.get('graphql_operation_duration_seconds_count{operation="CountEvents",type="query"}')).toBe(3);
  expect(m.get('graphql_operation_duration_seconds_count{operation="LiveServices",type="query"}')).toBe(2);
  expect(m.get('graphql_operation_duration_seconds_count{operation="Bomb",type="query"}')).toBe(1);
  expect(m.get('http_request_duration_seconds_count{method="POST",route="/graphql",status="200"}')).toBe(5);
  expect(m.get('http_request_duration_seconds_count{method="POST",route="/graphql",status="400"}')).toBe(1);
  expect(m.get('graphql_errors_total{code="QUERY_TOO_DEEP"}')).toBe(1);

  const dpodOk = [...m].filter(([k]) => k.startsWith('dpod_calls_total{') && k.includes('status="200"'));
  expect(dpodOk.map(([k]) => k)).toEqual(
    expect.arrayContaining([expect.stringContaining('route="GET /v1/service_instances"')]),
  );
  expect(m.get('dpod_call_duration_seconds_count{route="GET /v1/service_instances"}')).toBeGreaterThanOrEqual(1);
  expect(m.get('dpod_cache_lookups_total{outcome="miss"}')).toBeGreaterThanOrEqual(1);
  expect(m.get('dpod_cache_lookups_total{outcome="hit"}')).toBeGreaterThanOrEqual(1);
  expect(m.has('dpod_cache_lookups_total{outcome="stale"}')).toBe(true);

  const stored = Number(
    (await sql<{ n: string }>`select count(*) as n from audit_events`.execute(seeded.db.db)).rows[0]!.n,
  );
  expect(m.get('ingest_records_total{outcome="inserted"}')).toBe(stored);
  expect(m.get('ingest_records_total{outcome="read"}')).toBe(seeded.events);
  expect(m.get('ingest_records_total{outcome="rejected"}')).toBe(0);
  expect(m.get('ingest_runs{state="succeeded"}')).toBe(1);
  expect(m.has('ingest_lag_seconds')).toBe(true);
  expect(m.has('dpod_audit_process_resident_memory_bytes')).toBe(true);
});
