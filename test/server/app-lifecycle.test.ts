import { sql } from 'kysely';
import { gql } from './support/http';
import { startSeededApp, type SeededApp } from './support/seeded-app';

let seeded: SeededApp | undefined;

afterAll(async () => {
  await seeded?.stop();
});

it('runs the follower beside the server and stops it, then the pools, on stop()', async () => {
  seeded = await startSeededApp({ follow: true, env: { INGEST_INTERVAL_SECONDS: '1', INGEST_OVERLAP_SECONDS: '600' } });
  const db = seeded.db.db;
  const followRuns = async () =>
    (
      await sql<{
        state: string;
        n: string;
      }>`select state, count(*) as n from ingest_runs where kind = 'follow' group by state`.execute(db)
    ).rows;
  for (let i = 0; i < 100; i++) {
    if ((await followRuns()).some((r) => r.state === 'succeeded')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect((await followRuns()).find((r) => r.state === 'succeeded')).toBeDefined();
  const stored = Number((await sql<{ n: string }>`select count(*) as n from audit_events`.execute(db)).rows[0]!.n);
  const res = await gql(seeded.url, '{ auditEvents { totalCount } }');
  expect(res.body).toEqual({ data: { auditEvents: { totalCount: stored } } });

  await seeded.app.stop();
  const running = (await followRuns()).filter((r) => r.state === 'running');
  expect(running).toEqual([]);
  await expect(fetch(`${seeded.url}/healthz`)).rejects.toThrow();
  await expect(sql`select 1`.execute(seeded.app.database.db)).rejects.toThrow();
});
