import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { importFiles } from '../../src/ingest';
import { startSimulator, writeExportFile } from '../../src/simulator';
import { gql } from '../server/support/http';
import { startSeededApp, type SeededApp } from '../server/support/seeded-app';
import { createTestDatabase, type TestDatabase } from '../support/db';

// The "replica" is a second database holding other data (another tenant's export): whatever GraphQL
// answers must come from it, while the primary keeps its own rows.
let replica: TestDatabase;
let seeded: SeededApp;

const count = async (t: TestDatabase) =>
  Number((await sql<{ n: string }>`select count(*) as n from audit_events`.execute(t.db)).rows[0]!.n);

beforeAll(async () => {
  replica = await createTestDatabase({ poolSize: 3 });
  const other = await startSimulator({ seed: 99, services: 1, clientsPerService: 2, eventsPerDay: 50, days: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'dpod-replica-test-'));
  try {
    const now = other.tenant.now();
    const file = join(dir, 'replica.jsonl.gz');
    await writeExportFile(other.tenant, new Date(now.getTime() - 86_400_000), now, file);
    await importFiles({ db: replica.db, pool: replica.pool }, [file], { progressBar: false });
  } finally {
    await other.stop();
    await rm(dir, { recursive: true, force: true });
  }
  seeded = await startSeededApp({ env: { DATABASE_READ_URL: replica.url } });
}, 120_000);

afterAll(async () => {
  await seeded?.stop();
  await replica?.drop();
});

describe('DATABASE_READ_URL', () => {
  it('sends GraphQL reads to the read database, not the primary', async () => {
    const [onReplica, onPrimary] = [await count(replica), await count(seeded.db)];
    expect(onReplica).toBeGreaterThan(0);
    expect(onPrimary).toBeGreaterThan(onReplica);
    const { rows: runs } = await sql<{ n: string }>`select count(*) as n from ingest_runs`.execute(replica.db);
    const res = await gql(
      seeded.url,
      '{ auditEvents { totalCount aggregate { count } } ingestRuns(first: 50) { totalCount } }',
    );
    expect(res.body).toEqual({
      data: {
        auditEvents: { totalCount: onReplica, aggregate: { count: onReplica } },
        ingestRuns: { totalCount: Number(runs[0]!.n) },
      },
    });
  });

  it('connects the GraphQL read pool to the read database and keeps ingest and migrations on the primary', async () => {
    await gql(seeded.url, '{ auditEvents(first: 3) { nodes { id } } }');
    const { rows } = await sql<{ datname: string; application_name: string }>`
      select distinct datname, application_name from pg_stat_activity
      where datname in (${replica.name}, ${seeded.db.name}) and application_name like 'dpod-audit-%'
      order by 1, 2`.execute(replica.db);
    expect(rows).toEqual(
      expect.arrayContaining([{ datname: replica.name, application_name: 'dpod-audit-graphql-read' }]),
    );
    // dpod-audit-gateway is this test's own pool (test/support/db.ts); the app's primary pools are not there.
    expect(rows.filter((r) => r.datname === replica.name).map((r) => r.application_name)).toEqual([
      'dpod-audit-gateway',
      'dpod-audit-graphql-read',
    ]);
    expect(rows.filter((r) => r.datname === seeded.db.name).map((r) => r.application_name)).not.toContain(
      'dpod-audit-graphql-read',
    );
    expect(await count(seeded.db)).toBe(seeded.events);
  });
});
