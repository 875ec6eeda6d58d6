import { sql } from 'kysely';
import { ensurePartitions, listPartitions, partitionName } from '../../src/db/partitions';
import { createDatabase } from '../../src/db/connection';
import { createTestDatabase, type TestDatabase } from '../support/db';

/** One line of PostgreSQL's `explain` output. */
interface Plan {
  'QUERY PLAN': string;
}

const baseRow = {
  source: 'thales/cloudhsm/1334049524932',
  partition_id: '1334049524932',
  service_id: 'f59a597b-19b9-41df-b479-1530ed60fca3',
  client_id: 'd5fa3ace-a79f-40ba-8e21-3ebf0bf0250a',
  tenant_id: null,
  action: 'LUNA_SIGN',
  status: 'LUNA_RET_OK',
  trace_id: null,
  client_ip: '10.0.0.1',
  hsm_id: '567782',
  partition_serial: '1334049524932',
  role: 'CO',
  meta: JSON.stringify({ role: 'CO' }),
  meta_raw: null,
  extra: null,
  ingest_run_id: null,
};

async function partitionOf(t: TestDatabase, key: string): Promise<string> {
  const { rows } = await sql<{ part: string }>`
    select tableoid::regclass::text as part from audit_events where event_key = ${key}`.execute(t.db);
  return rows[0]!.part;
}

describe('audit_events partitions', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => t.drop());
  beforeEach(async () => t.truncate());

  it('creates the month partition on demand and routes rows into it', async () => {
    const at = new Date('2031-03-17T10:00:00.123Z');
    expect(await ensurePartitions(t.db, [at, new Date('2031-03-01T00:00:00Z')])).toEqual(['audit_events_y2031m03']);
    expect((await listPartitions(t.db)).map((p) => p.name)).toContain('audit_events_y2031m03');
    const key = '00000000-0000-4000-8000-000000000001';
    await t.db
      .insertInto('audit_events')
      .values({ ...baseRow, time: at, event_key: key })
      .execute();
    expect(await partitionOf(t, key)).toBe('audit_events_y2031m03');
    // Month edges are UTC: the last millisecond of March stays in March, midnight April 1st does not.
    expect(partitionName(new Date('2031-03-31T23:59:59.999Z'))).toBe('audit_events_y2031m03');
    expect(partitionName(new Date('2031-04-01T00:00:00.000Z'))).toBe('audit_events_y2031m04');
  });

  it('moves rows that landed in the default partition into a new month partition', async () => {
    const key = '00000000-0000-4000-8000-000000000002';
    await t.db
      .insertInto('audit_events')
      .values({ ...baseRow, time: new Date('2032-07-04T12:00:00Z'), event_key: key })
      .execute();
    expect(await partitionOf(t, key)).toBe('audit_events_default');
    await ensurePartitions(t.db, [new Date('2032-07-10T00:00:00Z')]);
    expect(await partitionOf(t, key)).toBe('audit_events_y2032m07');
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from audit_events_default`.execute(t.db);
    expect(rows[0]!.n).toBe('0');
  });

  it('lets concurrent creators of the same months all succeed', async () => {
    const months = ['2033-01-15', '2033-02-15', '2033-03-15', '2033-04-15'].map((d) => new Date(`${d}T00:00:00Z`));
    const handles = Array.from({ length: 6 }, () => createDatabase({ url: t.url, poolSize: 1 }));
    try {
      const results = await Promise.all(
        handles.map((h, i) => ensurePartitions(h.db, i % 2 ? [...months].reverse() : months)),
      );
      for (const r of results)
        expect(r).toEqual([
          'audit_events_y2033m01',
          'audit_events_y2033m02',
          'audit_events_y2033m03',
          'audit_events_y2033m04',
        ]);
    } finally {
      await Promise.all(handles.map((h) => h.destroy()));
    }
    const names = (await listPartitions(t.db)).map((p) => p.name).filter((n) => n.startsWith('audit_events_y2033'));
    expect(names).toEqual([
      'audit_events_y2033m01',
      'audit_events_y2033m02',
      'audit_events_y2033m03',
      'audit_events_y2033m04',
    ]);
  });

  it('refuses a second row with the same event key and time', async () => {
    const at = new Date('2031-05-05T05:05:05.005Z');
    await ensurePartitions(t.db, [at]);
    const key = '00000000-0000-4000-8000-000000000003';
    await t.db
      .insertInto('audit_events')
      .values({ ...baseRow, time: at, event_key: key })
      .execute();
    await expect(
      t.db
        .insertInto('audit_events')
        .values({ ...baseRow, time: at, event_key: key })
        .execute(),
    ).rejects.toThrow(/audit_events_.*event_key.*|duplicate key value violates unique constraint/);
    // The same key at another time is another event (identity is (event key, time)).
    await t.db
      .insertInto('audit_events')
      .values({ ...baseRow, time: new Date(at.getTime() + 1), event_key: key })
      .execute();
    const { rows } = await sql<{
      n: string;
    }>`select count(*)::text as n from audit_events where event_key = ${key}`.execute(t.db);
    expect(rows[0]!.n).toBe('2');
  });

  it('keeps keyset pages on an index: per service, per client and overall', async () => {
    const plans: string[] = [];
    await sql`set enable_seqscan = off`.execute(t.db);
    for (const q of [
      sql<Plan>`explain select id from audit_events where service_id = 'x' and (time, id) < (now(), 5) order by time desc, id desc limit 51`,
      sql<Plan>`explain select id from audit_events where client_id = 'x' order by time asc, id asc limit 51`,
      sql<Plan>`explain select id from audit_events order by time desc, id desc limit 51`,
      sql<Plan>`explain select id from audit_events where action = 'LUNA_SIGN' order by time desc, id desc limit 51`,
    ]) {
      const { rows } = await q.execute(t.db);
      plans.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
    }
    expect(plans[0]).toMatch(/Index Only Scan Backward using audit_events_\w+_service_id_time_id_idx/);
    expect(plans[1]).toMatch(/Index Only Scan using audit_events_\w+_client_id_time_id_idx/);
    expect(plans[2]).toMatch(/Index Only Scan Backward using audit_events_\w+_time_id_idx/);
    expect(plans[3]).toMatch(/Index Only Scan Backward using audit_events_\w+_action_time_id_idx/);
  });
});
