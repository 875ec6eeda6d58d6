import { join } from 'node:path';
import { sql } from 'kysely';
import { importFiles } from '../../src/ingest';
import { TRANSIENT_ATTEMPTS } from '../../src/ingest/event-writer';
import { jsonLines, record, writeText } from './hand-made';
import { useIngestStore } from './store-fixture';

const store = useIngestStore('ingest-retry-');
beforeEach(async () => {
  await store.t.truncate();
  await sql`drop trigger if exists abort_batches on ingest_runs`.execute(store.t.db);
  await sql`drop sequence if exists batch_attempts`.execute(store.t.db);
  await sql`create sequence batch_attempts`.execute(store.t.db);
});

/**
 * Makes PostgreSQL abort the first `failures` batch transactions with `sqlstate` (a sequence counts the
 * attempts: it is not rolled back with them). The batch's counter update on ingest_runs fires it.
 */
async function abortBatches(sqlstate: string, failures: number): Promise<void> {
  await sql
    .raw(
      `create or replace function abort_batch() returns trigger language plpgsql as $$
       begin
         if nextval('batch_attempts') <= ${failures} then
           raise exception 'injected failure' using errcode = '${sqlstate}';
         end if;
         return new;
       end $$`,
    )
    .execute(store.t.db);
  await sql`create trigger abort_batches before update on ingest_runs for each row
            when (new.records_read <> old.records_read) execute function abort_batch()`.execute(store.t.db);
}

const attempts = async () =>
  Number((await sql<{ n: string }>`select last_value as n from batch_attempts`.execute(store.t.db)).rows[0]!.n);
const stored = async () =>
  (await sql<{ n: number }>`select count(*)::int as n from audit_events`.execute(store.t.db)).rows[0]!.n;

function sampleFile(): string {
  const records = [0, 1, 2, 3, 4].map((i) => record({ time: `2026-11-20 14:52:4${i}.000 UTC` }));
  return writeText(join(store.dir, `f-${Math.random().toString(36).slice(2)}.jsonl`), jsonLines(records));
}

describe('batch transactions aborted by PostgreSQL', () => {
  it.each([
    ['a deadlock', '40P01'],
    ['a serialization failure', '40001'],
  ])('runs a batch again after %s and stores it exactly once', async (_name, sqlstate) => {
    await abortBatches(sqlstate, 2);
    const [summary] = await importFiles({ db: store.t.db, pool: store.t.pool }, [sampleFile()], { progressBar: false });
    expect(summary).toMatchObject({ state: 'succeeded', read: 5, inserted: 5, duplicates: 0 });
    expect(await attempts()).toBe(3);
    expect(await stored()).toBe(5);
    const rollups = await sql<{ n: number }>`select sum(count)::int as n from audit_rollups_hourly`.execute(store.t.db);
    expect(rollups.rows[0]!.n).toBe(5);
  });

  it('gives up after a bounded number of attempts, storing nothing of the batch', async () => {
    await abortBatches('40P01', 1_000);
    const [summary] = await importFiles({ db: store.t.db, pool: store.t.pool }, [sampleFile()], { progressBar: false });
    expect(summary).toMatchObject({ state: 'failed', inserted: 0 });
    expect(summary!.error).toMatch(/injected failure/);
    expect(await attempts()).toBe(TRANSIENT_ATTEMPTS);
    expect(await stored()).toBe(0);
  });

  it('does not retry other errors', async () => {
    await abortBatches('XX000', 1_000);
    const [summary] = await importFiles({ db: store.t.db, pool: store.t.pool }, [sampleFile()], { progressBar: false });
    expect(summary).toMatchObject({ state: 'failed', inserted: 0 });
    expect(await attempts()).toBe(1);
    expect(await stored()).toBe(0);
  });
});
