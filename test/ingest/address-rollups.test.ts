import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { applyRetention, importFiles } from '../../src/ingest';
import { EventWriter } from '../../src/ingest/event-writer';
import { migrations } from '../../migrations';
import { jsonLines, record, writeText } from './hand-made';
import { useIngestStore } from './store-fixture';
import { addressRollupsAndGroupBy } from './store-assertions';

const store = useIngestStore('ingest-address-rollups-', { truncateEach: true });

/** A record from `ip` (null: none) by client `actor` at `time`. */
function from(time: string, ip: string | null, actor = 'client-a', service = 'svc-1'): Record<string, unknown> {
  const meta: Record<string, unknown> = { hsmid: '567782', partid: '1334049524932', role: 'CO' };
  if (ip !== null) meta.clientip = ip;
  return record({ time, actorID: actor, resourceID: service, meta: JSON.stringify(meta) });
}

const DAY1 = [
  from('2026-11-20 10:00:00.100 UTC', '10.0.0.1'),
  from('2026-11-20 10:00:00.100 UTC', '10.0.0.1'),
  from('2026-11-20 11:00:00.000 UTC', '10.0.0.200'),
  from('2026-11-20 12:00:00.000 UTC', '10.0.1.7'),
  from('2026-11-20 12:30:00.000 UTC', '10.9.9.9/8'),
  from('2026-11-20 13:00:00.000 UTC', '2001:db8::1'),
  from('2026-11-20 13:05:00.000 UTC', '2001:db8:0:0:ffff::2'),
  from('2026-11-20 13:10:00.000 UTC', '2001:db8:0:1::2'),
  from('2026-11-20 14:00:00.000 UTC', null),
  from('2026-11-20 15:00:00.000 UTC', '10.0.0.3', 'client-b'),
  from('2026-11-20 23:59:59.999 UTC', '10.0.0.4', 'client-a', 'svc-2'),
];
const DAY2 = [from('2026-11-21 00:00:00.000 UTC', '10.0.0.5'), from('2026-11-21 08:00:00.000 UTC', '::ffff:10.0.0.5')];

async function importRecords(name: string, records: unknown[]) {
  const [summary] = await importFiles(
    { db: store.t.db, pool: store.t.pool },
    [writeText(join(store.dir, name), jsonLines(records))],
    { progressBar: false },
  );
  return summary!;
}

async function expectExact(): Promise<unknown[]> {
  const { rollups, groupBy } = await addressRollupsAndGroupBy(store.t);
  expect(rollups).toEqual(groupBy);
  return rollups;
}

it('holds per day, client and prefix the first and last time and count of the inserted events, duplicates adding nothing', async () => {
  expect(await importRecords('a.jsonl', DAY1)).toMatchObject({ inserted: 11 });
  const rollups = await expectExact();
  expect(rollups.map((r) => (r as { prefix: string }).prefix)).toEqual([
    '10.0.0.0/24',
    '10.0.1.0/24',
    '10.9.9.0/24',
    '2001:db8:0:1::/64',
    '2001:db8::/64',
    '10.0.0.0/24',
    '10.0.0.0/24',
  ]);
  expect(rollups[0]).toMatchObject({
    count: '3',
    first_time: '2026-11-20 10:00:00.1+00',
    last_time: '2026-11-20 11:00:00+00',
  });
  expect(rollups[4]).toMatchObject({ prefix: '2001:db8::/64', count: '2' });

  // The same file again adds nothing; an overlapping one only its new events.
  expect(await importRecords('a.jsonl', DAY1)).toMatchObject({ inserted: 0, duplicates: 11 });
  const again = await expectExact();
  expect(again).toEqual(rollups);
  expect(
    await importRecords('b.jsonl', [...DAY1.slice(5), ...DAY2, from('2026-11-20 09:00:00.000 UTC', '10.0.0.9')]),
  ).toMatchObject({ inserted: 3, duplicates: 6 });
  const overlapped = await expectExact();
  expect(overlapped[0]).toMatchObject({ count: '4', first_time: '2026-11-20 09:00:00+00' });
});

it('stays exact when a concurrent writer sends a batch the general (staged) way', async () => {
  const staged = jest.spyOn(
    EventWriter.prototype as unknown as { insertStaged: () => Promise<number> },
    'insertStaged',
  );
  const holder = new pg.Client({ connectionString: store.t.url });
  await holder.connect();
  const waiting = async (locktype: string) => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_locks where locktype = ${locktype} and not granted`.execute(store.t.db);
      if (rows[0]!.n > 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no ${locktype} lock waiter`);
  };
  let stagedCalls: number;
  try {
    // The first import stores its rows and waits for the rollup lock; the second finds none of them stored yet, so
    // its COPY waits on the first's rows, fails on their keys once the first commits, and runs again staged.
    await holder.query('begin');
    await holder.query(`select pg_advisory_xact_lock(hashtext('dpod-audit:rollups'))`);
    const first = importRecords('first.jsonl', DAY1.slice(0, 6));
    await waiting('advisory');
    const second = importRecords('second.jsonl', [...DAY1, ...DAY2]);
    await waiting('transactionid');
    await holder.query('commit');
    expect(await first).toMatchObject({ inserted: 6 });
    expect(await second).toMatchObject({ inserted: 7, duplicates: 6 });
    stagedCalls = staged.mock.calls.length;
  } finally {
    await holder.end();
    staged.mockRestore();
  }
  expect(stagedCalls).toBeGreaterThan(0);
  expect(await expectExact()).toHaveLength(9);
});

it('loses the rows of the months retention drops', async () => {
  await importRecords('r.jsonl', [
    from('2025-08-10 10:00:00 UTC', '10.0.0.1'),
    from('2025-09-30 23:59:59 UTC', '10.0.0.1'),
    from('2025-10-01 00:00:00 UTC', '10.0.0.1'),
    from('2026-11-20 10:00:00 UTC', '10.0.0.1'),
  ]);
  await applyRetention({ db: store.t.db }, { olderThanDays: 400, now: new Date('2026-11-05T00:00:00Z') });
  const rollups = await expectExact();
  expect(rollups.map((r) => (r as { day: Date }).day.toISOString())).toEqual([
    '2025-10-01T00:00:00.000Z',
    '2026-11-20T00:00:00.000Z',
  ]);
});

it('is backfilled from the stored events by its migration', async () => {
  await importRecords('a.jsonl', [...DAY1, ...DAY2]);
  const before = await expectExact();
  await sql`truncate audit_address_rollups_daily`.execute(store.t.db);
  await migrations['20261207_0013_audit_address_rollups']!.down!(store.t.db);
  await migrations['20261207_0013_audit_address_rollups']!.up(store.t.db);
  expect(await expectExact()).toEqual(before);
});
