import { Kysely, Migrator, sql } from 'kysely';
import { migrations } from '../../migrations';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';
import type { Database } from '../../src/db/database';
import { createEmptyDatabase, dropDatabase, urlFor } from '../support/db';

let name = '';
let handle: DatabaseHandle;

beforeAll(async () => {
  name = await createEmptyDatabase();
  handle = createDatabase({ url: urlFor(name), poolSize: 2 });
});
afterAll(async () => {
  await handle.destroy();
  await dropDatabase(name);
});

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } });
}

it('gives stored rejected lines their identity and folds the copies overlapping reads stored', async () => {
  const before = await migrator(handle.db).migrateTo('20261125_0006_audit_rollups_daily_tenant');
  expect(before.error).toBeUndefined();
  const { rows: runs } = await sql<{ id: string }>`
    insert into ingest_runs (kind, source, state) values ('import', 'a', 'succeeded'), ('import', 'b', 'succeeded')
    returning id::text`.execute(handle.db);
  const [a, b] = runs.map((r) => r.id);
  // Run a read "x" twice and "y" once; run b, an overlapping read, read "x" once and "y" once again.
  await sql`
    insert into rejected_records (run_id, line_number, raw, reason, created_at) values
      (${a}, 1, 'x', 'bad', '2026-11-01T00:00:00Z'), (${a}, 2, 'y', 'bad', '2026-11-01T00:00:00Z'),
      (${a}, 3, 'x', 'bad', '2026-11-01T00:00:00Z'),
      (${b}, 7, 'x', 'bad', '2026-11-02T00:00:00Z'), (${b}, 8, 'y', 'bad', '2026-11-02T00:00:00Z')`.execute(handle.db);
  const after = await migrator(handle.db).migrateTo('20261206_0007_rejected_record_identity');
  expect(after.error).toBeUndefined();
  const { rows } = await sql`
    select raw, occurrence, line_number::int as line, seen_count, first_seen, last_seen,
           run_id::text = ${a} as first_run_a, last_run_id::text = ${b} as last_run_b,
           line_hash = encode(sha256(convert_to(raw, 'UTF8')), 'hex') as hashed
      from rejected_records order by raw, occurrence`.execute(handle.db);
  const first = new Date('2026-11-01T00:00:00Z');
  const second = new Date('2026-11-02T00:00:00Z');
  expect(rows).toEqual([
    {
      raw: 'x',
      occurrence: 0,
      line: 1,
      seen_count: 2,
      first_seen: first,
      last_seen: second,
      first_run_a: true,
      last_run_b: true,
      hashed: true,
    },
    {
      raw: 'x',
      occurrence: 1,
      line: 3,
      seen_count: 1,
      first_seen: first,
      last_seen: first,
      first_run_a: true,
      last_run_b: false,
      hashed: true,
    },
    {
      raw: 'y',
      occurrence: 0,
      line: 2,
      seen_count: 2,
      first_seen: first,
      last_seen: second,
      first_run_a: true,
      last_run_b: true,
      hashed: true,
    },
  ]);
  const down = await migrator(handle.db).migrateTo('20261125_0006_audit_rollups_daily_tenant');
  expect(down.error).toBeUndefined();
});
