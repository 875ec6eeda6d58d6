import { join } from 'node:path';
import { sql } from 'kysely';
import { applyRetention, importFiles } from '../../src/ingest';
import { runCli } from '../support/cli';
import { jsonLines, record, writeText } from './hand-made';
import { useIngestStore } from './store-fixture';
import { derivedRollups } from './store-assertions';

const store = useIngestStore('ingest-retention-');

async function months(): Promise<Record<string, number>> {
  const { rows } = await sql<{
    m: string;
    n: number;
  }>`select to_char(time at time zone 'UTC', 'YYYY-MM') as m, count(*)::int as n from audit_events group by 1 order by 1`.execute(
    store.t.db,
  );
  return Object.fromEntries(rows.map((r) => [r.m, r.n]));
}

it('drops whole month partitions older than the cutoff with their rollups, keeping the rest', async () => {
  const times = [
    '2025-08-10 10:00:00 UTC',
    '2025-09-30 23:59:59 UTC',
    '2025-10-01 00:00:00 UTC',
    '2026-11-20 10:00:00 UTC',
  ];
  await importFiles(
    { db: store.t.db, pool: store.t.pool },
    [writeText(join(store.dir, 'r.jsonl'), jsonLines(times.map((time) => record({ time }))))],
    { progressBar: false },
  );
  expect(await months()).toEqual({ '2025-08': 1, '2025-09': 1, '2025-10': 1, '2026-11': 1 });

  // 400 days before 2026-11-05 is 2025-10-01: August and September go, October stays.
  const outcome = await applyRetention(
    { db: store.t.db },
    { olderThanDays: 400, now: new Date('2026-11-05T00:00:00Z') },
  );
  expect(outcome).toEqual({
    cutoff: new Date('2025-10-01T00:00:00Z'),
    droppedPartitions: ['audit_events_y2025m08', 'audit_events_y2025m09'],
    defaultPartitionRows: 0,
    rollupsDeleted: 2,
  });
  expect(await months()).toEqual({ '2025-10': 1, '2026-11': 1 });
  const { rows } = await sql<{ hour: Date }>`select hour from audit_rollups_hourly order by hour`.execute(store.t.db);
  expect(rows.map((r) => r.hour.toISOString())).toEqual(['2025-10-01T00:00:00.000Z', '2026-11-20T10:00:00.000Z']);
  // The daily and tenant-wide daily rollups lost the dropped months with the hourly ones.
  const derived = await derivedRollups(store.t);
  expect(derived.daily).toEqual(derived.dailyFromHourly);
  expect(derived.tenant).toEqual(derived.tenantFromDaily);
  expect(derived.client).toEqual(derived.clientFromHourly);
  expect(derived.client.length).toBeGreaterThan(0);
  expect((derived.tenant as { day: Date }[]).map((r) => r.day.toISOString())).toEqual([
    '2025-10-01T00:00:00.000Z',
    '2026-11-20T00:00:00.000Z',
  ]);
});

it('the retention command validates its age and reports what it dropped', async () => {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: store.t.url, LOG_LEVEL: 'warn' };
  const bad = await runCli(['retention', '--older-than', 'soon'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--older-than must look like 400d');
  const ok = await runCli(['retention', '--older-than', '400d'], env);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/^retention older than 400d \(before .*\): dropped \d+ partition\(s\)/);
});
