import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { importFiles } from '../../src/ingest';
import { jsonLines, record, writeText, zipOf } from './hand-made';
import { useIngestStore } from './store-fixture';
import { derivedRollups } from './store-assertions';

const store = useIngestStore('ingest-files-', { truncateEach: true });

const deps = () => ({ db: store.t.db, pool: store.t.pool });

/** Five distinct records over two hours and two months, plus one exact copy in the same second. */
function sample(): Record<string, unknown>[] {
  return [
    record(),
    record(), // a second, identical event in the same second
    record({ time: '2026-11-20 14:52:48.001 UTC', action: 'LUNA_LOGIN', status: 'LUNA_RET_UM_PIN_INCORRECT' }),
    record({ time: '2026-11-20T15:00:00.5Z', actorID: 'c1c1c1c1-0000-4000-8000-000000000002', action: 'LUNA_DECRYPT' }),
    record({ time: '2026-10-31 23:59:59 UTC', action: 'LUNA_FUTURE_OP', status: 'LUNA_RET_SOMETHING_NEW' }),
    record({
      time: '2026-12-01 00:00:00.000 UTC',
      meta: { clientip: '10.0.0.9', hsmid: 1234, ouids: null, partid: '1334049524932', role: 'CU' },
    }),
  ];
}

async function eventCount(): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit_events`.execute(store.t.db);
  return rows[0]!.n;
}

describe('importFiles', () => {
  it.each([
    ['plain JSON Lines', (p: string) => writeText(p, jsonLines(sample()))],
    ['gzip JSON Lines', (p: string) => writeText(p, jsonLines(sample()), true)],
    ['plain JSON array', (p: string) => writeText(p, JSON.stringify(sample(), null, 2))],
    ['gzip JSON array', (p: string) => writeText(p, JSON.stringify(sample()), true)],
    [
      'zip JSON array',
      (p: string) => writeFileSync(p, zipOf('export.json', Buffer.from(JSON.stringify(sample(), null, 1)))),
    ],
    ['zip JSON Lines', (p: string) => writeFileSync(p, zipOf('export.jsonl', Buffer.from(jsonLines(sample()))))],
  ])('imports %s with every record stored once', async (_name, write) => {
    const path = join(store.dir, `f-${Math.random().toString(36).slice(2)}`);
    write(path);
    const [summary] = await importFiles(deps(), [path]);
    expect(summary).toMatchObject({
      state: 'succeeded',
      read: 6,
      inserted: 6,
      duplicates: 0,
      rejected: 0,
      malformedMeta: 0,
    });
    const rows = await store.t.db
      .selectFrom('audit_events')
      .select([
        'time',
        'occurrence',
        'action',
        'status',
        'client_ip',
        'hsm_id',
        'object_ids',
        'partition_id',
        'partition_serial',
        'role',
        'meta_malformed',
      ])
      .orderBy('time')
      .orderBy('occurrence')
      .execute();
    expect(
      rows.map((r) => [
        r.time.toISOString(),
        r.occurrence,
        r.action,
        r.status,
        r.client_ip,
        r.hsm_id,
        r.object_ids,
        r.partition_id,
        r.partition_serial,
        r.role,
      ]),
    ).toEqual([
      [
        '2026-10-31T23:59:59.000Z',
        0,
        'LUNA_FUTURE_OP',
        'LUNA_RET_SOMETHING_NEW',
        '10.0.0.1',
        '567782',
        ['2d00000012ab'],
        '1334049524932',
        '1334049524932',
        'CO',
      ],
      [
        '2026-11-20T14:52:47.120Z',
        0,
        'LUNA_SIGN',
        'LUNA_RET_OK',
        '10.0.0.1',
        '567782',
        ['2d00000012ab'],
        '1334049524932',
        '1334049524932',
        'CO',
      ],
      [
        '2026-11-20T14:52:47.120Z',
        1,
        'LUNA_SIGN',
        'LUNA_RET_OK',
        '10.0.0.1',
        '567782',
        ['2d00000012ab'],
        '1334049524932',
        '1334049524932',
        'CO',
      ],
      [
        '2026-11-20T14:52:48.001Z',
        0,
        'LUNA_LOGIN',
        'LUNA_RET_UM_PIN_INCORRECT',
        '10.0.0.1',
        '567782',
        ['2d00000012ab'],
        '1334049524932',
        '1334049524932',
        'CO',
      ],
      [
        '2026-11-20T15:00:00.500Z',
        0,
        'LUNA_DECRYPT',
        'LUNA_RET_OK',
        '10.0.0.1',
        '567782',
        ['2d00000012ab'],
        '1334049524932',
        '1334049524932',
        'CO',
      ],
      [
        '2026-12-01T00:00:00.000Z',
        0,
        'LUNA_SIGN',
        'LUNA_RET_OK',
        '10.0.0.9',
        '1234',
        [],
        '1334049524932',
        '1334049524932',
        'CU',
      ],
    ]);
  });

  it('adds nothing when the same records are imported again, in another format and key casing', async () => {
    await importFiles(deps(), [writeText(join(store.dir, 'a.jsonl'), jsonLines(sample()))]);
    const recased = sample().map((r) =>
      Object.fromEntries(
        Object.entries(r)
          .map(([k, v]): [string, unknown] => [
            k.toLowerCase(),
            typeof v === 'object' && v !== null ? JSON.stringify(v) : v,
          ])
          .reverse(),
      ),
    );
    const [again] = await importFiles(deps(), [writeText(join(store.dir, 'b.json.gz'), JSON.stringify(recased), true)]);
    expect(again).toMatchObject({ state: 'succeeded', read: 6, inserted: 0, duplicates: 6, rejected: 0 });
    expect(await eventCount()).toBe(6);
  });

  it('rejects each kind of bad line with its reason and stores the rest', async () => {
    const good = record({ time: '2026-11-21 10:00:00 UTC' });
    const lines = [
      JSON.stringify(good),
      '{"time": "2026-11-21 10:00:01 UTC", "action": ', // truncated JSON
      '',
      JSON.stringify(record({ time: undefined })),
      JSON.stringify(record({ action: undefined })),
      JSON.stringify(record({ status: '' })),
      JSON.stringify(record({ resourceID: undefined })),
      JSON.stringify(record({ actorID: { id: 42 } })),
      JSON.stringify(record({ time: '2026-02-30 10:00:00 UTC' })),
      '[1,2,3]',
      JSON.stringify(record({ source: undefined, meta: '{"partid":"999"}', time: '2026-11-21 10:00:02 UTC' })),
      JSON.stringify(record({ source: undefined, meta: undefined })),
      JSON.stringify(record({ time: '2026-11-21 10:00:03 UTC', meta: '{"clientip": "10.0.0.1", "role": ' })),
      JSON.stringify(
        record({ time: '2026-11-21 10:00:04 UTC', meta: { clientip: 'not-an-ip', role: 'PO' }, Extra_Field: { a: 1 } }),
      ),
      JSON.stringify(record({ time: '2026-11-21 10:00:05 UTC', note: 'a\u0000b' })),
      // A lone surrogate passes JSON.parse but PostgreSQL's jsonb refuses it: the meta is kept raw, flagged.
      JSON.stringify(record({ time: '2026-11-21 10:00:06 UTC', meta: '{"clientip":"10.0.0.1","x":"\\ud800"}' })),
    ];
    const [summary] = await importFiles(deps(), [writeText(join(store.dir, 'bad.jsonl'), lines.join('\r\n'))]);
    expect(summary).toMatchObject({
      state: 'succeeded',
      read: 15,
      inserted: 5,
      duplicates: 0,
      rejected: 10,
      malformedMeta: 2,
    });
    const rejected = await store.t.db
      .selectFrom('rejected_records')
      .select(['run_id', 'line_number', 'raw', 'reason'])
      .orderBy('line_number')
      .execute();
    expect(rejected.map((r) => [Number(r.line_number), r.reason.replace(/:.*$/s, '')])).toEqual([
      [2, 'not valid JSON'],
      [4, 'missing field "time"'],
      [5, 'missing field "action"'],
      [6, 'field "status" is empty'],
      [7, 'missing field "resourceID"'],
      [8, 'field "actorID" must be a string, got {"id"'],
      [9, 'field "time" is not a valid time'],
      [10, 'record is not a JSON object (got an array)'],
      [12, 'missing field "source" (and meta has no "partid" to derive it from)'],
      [
        15,
        'an unknown field holds NUL (\\u0000) or an unpaired UTF-16 surrogate (\\udXXX), which PostgreSQL cannot store',
      ],
    ]);
    expect(rejected[0]).toMatchObject({ run_id: summary!.runId, raw: lines[1] });
    const stored = await store.t.db
      .selectFrom('audit_events')
      .select(['time', 'source', 'partition_id', 'client_ip', 'role', 'meta', 'meta_raw', 'meta_malformed', 'extra'])
      .orderBy('time')
      .execute();
    expect(
      stored.map((r) => [
        r.source,
        r.partition_id,
        r.client_ip,
        r.role,
        r.meta_malformed,
        r.meta_raw === null,
        r.extra,
      ]),
    ).toEqual([
      ['thales/cloudhsm/1334049524932', '1334049524932', '10.0.0.1', 'CO', false, false, null],
      ['thales/cloudhsm/999', '999', null, null, false, false, null],
      // Malformed meta: kept raw, flagged, and its address read out of the text.
      ['thales/cloudhsm/1334049524932', '1334049524932', '10.0.0.1', null, true, false, null],
      ['thales/cloudhsm/1334049524932', '1334049524932', null, 'PO', false, true, { Extra_Field: { a: 1 } }],
      ['thales/cloudhsm/1334049524932', '1334049524932', '10.0.0.1', null, true, false, null],
    ]);
    expect(stored[2]!.meta_raw).toBe('{"clientip": "10.0.0.1", "role": ');
    expect(stored[3]!.meta).toEqual({ clientip: 'not-an-ip', role: 'PO' });
    expect([stored[4]!.meta, stored[4]!.meta_raw]).toEqual([null, '{"clientip":"10.0.0.1","x":"\\ud800"}']);
    const run = await store.t.db.selectFrom('ingest_runs').selectAll().executeTakeFirstOrThrow();
    expect(run).toMatchObject({
      kind: 'import',
      state: 'succeeded',
      records_read: '15',
      inserted: '5',
      rejected: '10',
      malformed_meta: '2',
    });
  });

  it('keeps rollups equal to a GROUP BY over the events', async () => {
    await importFiles(deps(), [writeText(join(store.dir, 'r.jsonl'), jsonLines(sample()))], { batchSize: 2 });
    await importFiles(
      deps(),
      [writeText(join(store.dir, 'r2.jsonl'), jsonLines([...sample(), record({ time: '2026-11-22 01:02:03 UTC' })]))],
      { batchSize: 3 },
    );
    const { rows: fromEvents } = await sql`
      select date_trunc('hour', time, 'UTC') as hour, service_id, client_id, action, status, role, count(*)::text as count
        from audit_events group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6`.execute(store.t.db);
    const { rows: rollups } = await sql`
      select hour, service_id, client_id, action, status, role, count::text as count
        from audit_rollups_hourly order by 1, 2, 3, 4, 5, 6`.execute(store.t.db);
    expect(rollups).toEqual(fromEvents);
    expect(fromEvents).toHaveLength(6);
    const derived = await derivedRollups(store.t);
    expect(derived.daily).toEqual(derived.dailyFromHourly);
    expect(derived.tenant).toEqual(derived.tenantFromDaily);
    expect(derived.client).toEqual(derived.clientFromHourly);
    expect(derived.client.length).toBeGreaterThan(0);
    expect(derived.tenant.length).toBeGreaterThan(0);
  });

  it('fails the run of a missing file with a clear error and still imports the others', async () => {
    const ok = writeText(join(store.dir, 'ok.jsonl'), jsonLines([record()]));
    const summaries = await importFiles(deps(), [join(store.dir, 'missing.jsonl'), ok]);
    expect(summaries.map((s) => [s.state, s.inserted])).toEqual([
      ['failed', 0],
      ['succeeded', 1],
    ]);
    expect(summaries[0]!.error).toMatch(/ENOENT.*missing\.jsonl/);
  });
});
