import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { importFiles } from '../../src/ingest';
import { jsonLines, record, writeText } from './hand-made';
import { useIngestStore } from './store-fixture';
import { derivedRollups, rollupsAndGroupBy } from './store-assertions';

// Ingest batches write their rollups (hourly, and by trigger daily and tenant-wide) one transaction at a time:
// rows of those tables are shared by writers of different services, and one batch writes them in several rounds.

const store = useIngestStore('ingest-rollup-lock-');

it('waits for the rollup lock before writing rollups, then stores everything', async () => {
  const holder = new pg.Client({ connectionString: store.t.url });
  await holder.connect();
  try {
    await holder.query('begin');
    await holder.query(`select pg_advisory_xact_lock(hashtext('dpod-audit:rollups'))`);
    const times = ['2026-11-20 10:00:00 UTC', '2026-11-20 10:00:01 UTC', '2026-11-21 09:00:00 UTC'];
    const file = writeText(
      join(store.dir, 'r.jsonl'),
      jsonLines(times.map((time, i) => record({ time, resourceID: `svc-${i % 2}` }))),
    );
    let done = false;
    const running = importFiles({ db: store.t.db, pool: store.t.pool }, [file], { progressBar: false }).then((s) => {
      done = true;
      return s;
    });
    // The import reaches its rollup step and waits there for the advisory lock.
    let waiting = 0;
    for (let i = 0; i < 100 && waiting === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`.execute(store.t.db);
      waiting = rows[0]!.n;
    }
    expect(waiting).toBeGreaterThan(0);
    expect(done).toBe(false);
    await holder.query('commit');
    const [summary] = await running;
    expect(summary).toMatchObject({ state: 'succeeded', inserted: 3 });
  } finally {
    await holder.end();
  }
  const { rollups, groupBy } = await rollupsAndGroupBy(store.t);
  expect(rollups).toEqual(groupBy);
  const derived = await derivedRollups(store.t);
  expect(derived.tenant).toEqual(derived.tenantFromDaily);
  expect(derived.client).toEqual(derived.clientFromHourly);
  expect(derived.client.length).toBeGreaterThan(0);
  expect(derived.daily).toEqual(derived.dailyFromHourly);
});
