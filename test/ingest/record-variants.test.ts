import { join } from 'node:path';
import { sql } from 'kysely';
import { importFiles } from '../../src/ingest';
import { jsonLines, record, writeText } from './hand-made';
import { useIngestStore } from './store-fixture';

// Every variant of an audit record that /work/shared/dpod-api.md lists ("An audit record"), imported
// through the real pipeline and read back from PostgreSQL. Each record has its own trace id.

const store = useIngestStore('ingest-variants-', { truncateEach: true });

const meta = (m: Record<string, unknown>) =>
  JSON.stringify({
    clientip: '10.0.0.1',
    hsmid: '567782',
    ouids: '2d00000012ab',
    partid: '1334049524932',
    role: 'CO',
    ...m,
  });

/** Imports the records (trace id = name) and returns the named columns of each stored row by trace id. */
async function importAndRead(
  variants: Record<string, Record<string, unknown>>,
  columns: string[],
): Promise<Record<string, Record<string, unknown>>> {
  const records = Object.entries(variants).map(([name, overrides]) => record({ traceID: name, ...overrides }));
  const [summary] = await importFiles({ db: store.t.db, pool: store.t.pool }, [
    writeText(join(store.dir, `v-${Math.random().toString(36).slice(2)}.jsonl`), jsonLines(records)),
  ]);
  expect(summary).toMatchObject({ state: 'succeeded', read: records.length, inserted: records.length, rejected: 0 });
  const { rows } = await sql<
    Record<string, unknown>
  >`select trace_id, ${sql.join(columns.map((c) => sql.ref(c)))} from audit_events`.execute(store.t.db);
  return Object.fromEntries(rows.map(({ trace_id, ...rest }) => [trace_id as string, rest]));
}

describe('audit record variants, as stored', () => {
  it('normalises every time format to UTC milliseconds, truncating (not rounding) finer digits', async () => {
    const times: Record<string, [string, string]> = {
      'dpod-ms': ['2026-11-20 14:52:47.120 UTC', '2026-11-20T14:52:47.120Z'],
      'dpod-seconds': ['2026-11-20 14:52:47 UTC', '2026-11-20T14:52:47.000Z'],
      'dpod-micro': ['2026-11-20 14:52:47.123999 UTC', '2026-11-20T14:52:47.123Z'],
      'rfc-z': ['2026-11-20T14:52:47Z', '2026-11-20T14:52:47.000Z'],
      'rfc-lower': ['2026-11-20t14:52:47.9z', '2026-11-20T14:52:47.900Z'],
      'rfc-plus': ['2026-11-20T20:22:47.5+05:30', '2026-11-20T14:52:47.500Z'],
      'rfc-minus': ['2026-11-20T06:52:47.9999999-08:00', '2026-11-20T14:52:47.999Z'],
      'rfc-zero-offset': ['2026-11-20T14:52:47.001+00:00', '2026-11-20T14:52:47.001Z'],
      'offset-crosses-day': ['2026-11-21T01:00:00+02:00', '2026-11-20T23:00:00.000Z'],
      'offset-crosses-month': ['2026-12-01T00:30:00+01:00', '2026-11-30T23:30:00.000Z'],
      'offset-crosses-year': ['2026-12-31T20:00:00-05:00', '2027-01-01T01:00:00.000Z'],
      'no-zone-is-utc': ['2026-11-20 14:52:47.5', '2026-11-20T14:52:47.500Z'],
    };
    const stored = await importAndRead(
      Object.fromEntries(Object.entries(times).map(([name, [text]]) => [name, { time: text }])),
      ['time'],
    );
    expect(
      Object.fromEntries(Object.entries(stored).map(([name, r]) => [name, (r.time as Date).toISOString()])),
    ).toEqual(Object.fromEntries(Object.entries(times).map(([name, [, iso]]) => [name, iso])));
    // Each row sits in the partition of its UTC month.
    const { rows } = await sql<{
      p: string;
      n: number;
    }>`select tableoid::regclass::text as p, count(*)::int as n from audit_events group by 1 order by 1`.execute(
      store.t.db,
    );
    expect(rows.map((r) => r.n)).toEqual([11, 1]);
  });

  it('matches keys case-insensitively and keeps unknown keys, actions and statuses as they are', async () => {
    const stored = await importAndRead(
      {
        camel: {},
        lower: {
          resourceID: undefined,
          actorID: undefined,
          tenantID: undefined,
          resourceid: 's-lower',
          actorid: 'c-lower',
          tenantid: 't-lower',
        },
        upper: {
          resourceID: undefined,
          actorID: undefined,
          tenantID: undefined,
          RESOURCEID: 's-upper',
          ACTORID: 'c-upper',
          TENANTID: 't-upper',
          ACTION: 'LUNA_LOGIN',
          action: undefined,
        },
        future: {
          action: 'LUNA_TELEPORT_KEY',
          status: 'LUNA_RET_NEW_THING',
          Region: 'eu-west',
          nested: { a: [1, null] },
        },
      },
      ['service_id', 'client_id', 'tenant_id', 'action', 'status', 'extra'],
    );
    expect(stored).toEqual({
      camel: {
        service_id: 'f59a597b-19b9-41df-b479-1530ed60fca3',
        client_id: 'd5fa3ace-a79f-40ba-8e21-3ebf0bf0250a',
        tenant_id: 'b863768a-9b90-4a6a-b8ec-01a7b46a6ca3',
        action: 'LUNA_SIGN',
        status: 'LUNA_RET_OK',
        extra: null,
      },
      lower: {
        service_id: 's-lower',
        client_id: 'c-lower',
        tenant_id: 't-lower',
        action: 'LUNA_SIGN',
        status: 'LUNA_RET_OK',
        extra: null,
      },
      upper: {
        service_id: 's-upper',
        client_id: 'c-upper',
        tenant_id: 't-upper',
        action: 'LUNA_LOGIN',
        status: 'LUNA_RET_OK',
        extra: null,
      },
      future: {
        service_id: 'f59a597b-19b9-41df-b479-1530ed60fca3',
        client_id: 'd5fa3ace-a79f-40ba-8e21-3ebf0bf0250a',
        tenant_id: 'b863768a-9b90-4a6a-b8ec-01a7b46a6ca3',
        action: 'LUNA_TELEPORT_KEY',
        status: 'LUNA_RET_NEW_THING',
        extra: { Region: 'eu-west', nested: { a: [1, null] } },
      },
    });
  });

  it('takes the partition id from source, else from meta.partid', async () => {
    const stored = await importAndRead(
      {
        prefixed: { source: 'thales/cloudhsm/42' },
        'prefix-case': { source: 'Thales/CloudHSM/43' },
        'other-source': { source: 'elsewhere/44', meta: meta({ partid: '44' }) },
        'other-source-no-partid': { source: 'elsewhere/45', meta: meta({ partid: undefined }) },
        'no-source': { source: undefined, meta: meta({ partid: '46' }) },
        'bare-prefix': { source: 'thales/cloudhsm/', meta: meta({ partid: '47' }) },
      },
      ['source', 'partition_id', 'partition_serial'],
    );
    expect(stored).toEqual({
      prefixed: { source: 'thales/cloudhsm/42', partition_id: '42', partition_serial: '1334049524932' },
      'prefix-case': { source: 'Thales/CloudHSM/43', partition_id: '43', partition_serial: '1334049524932' },
      'other-source': { source: 'elsewhere/44', partition_id: '44', partition_serial: '44' },
      'other-source-no-partid': { source: 'elsewhere/45', partition_id: 'elsewhere/45', partition_serial: null },
      'no-source': { source: 'thales/cloudhsm/46', partition_id: '46', partition_serial: '46' },
      'bare-prefix': { source: 'thales/cloudhsm/', partition_id: '47', partition_serial: '47' },
    });
  });

  it('reads meta as a JSON string or an object, keeps a malformed one raw and flagged, and parses its fields', async () => {
    const stored = await importAndRead(
      {
        string: {},
        object: {
          meta: { ClientIP: '10.0.0.7', HSMID: 99, ouids: ['o1', 'o2'], PartID: '1334049524932', Role: 'public' },
        },
        'object-null-ouids': { meta: { clientip: '10.0.0.8', ouids: null, role: 'CU' } },
        'ouids-list-text': { meta: meta({ ouids: 'o1, o2;o3 o4' }) },
        'ouids-number': { meta: meta({ ouids: 42 }) },
        malformed: { meta: '{"clientip":"10.0.0.1","role":' },
        'not-an-object': { meta: '"just text"' },
        'array-value': { meta: ['x'] },
        blank: { meta: '  ' },
        null: { meta: null },
        absent: { meta: undefined },
      },
      ['client_ip', 'hsm_id', 'object_ids', 'role', 'meta', 'meta_raw', 'meta_malformed'],
    );
    const fromString = JSON.parse(meta({})) as unknown;
    expect(stored).toEqual({
      string: {
        client_ip: '10.0.0.1',
        hsm_id: '567782',
        object_ids: ['2d00000012ab'],
        role: 'CO',
        meta: fromString,
        meta_raw: meta({}),
        meta_malformed: false,
      },
      object: {
        client_ip: '10.0.0.7',
        hsm_id: '99',
        object_ids: ['o1', 'o2'],
        role: 'public',
        meta: { ClientIP: '10.0.0.7', HSMID: 99, ouids: ['o1', 'o2'], PartID: '1334049524932', Role: 'public' },
        meta_raw: null,
        meta_malformed: false,
      },
      'object-null-ouids': {
        client_ip: '10.0.0.8',
        hsm_id: null,
        object_ids: [],
        role: 'CU',
        meta: { clientip: '10.0.0.8', ouids: null, role: 'CU' },
        meta_raw: null,
        meta_malformed: false,
      },
      'ouids-list-text': {
        client_ip: '10.0.0.1',
        hsm_id: '567782',
        object_ids: ['o1', 'o2', 'o3', 'o4'],
        role: 'CO',
        meta: JSON.parse(meta({ ouids: 'o1, o2;o3 o4' })) as unknown,
        meta_raw: meta({ ouids: 'o1, o2;o3 o4' }),
        meta_malformed: false,
      },
      'ouids-number': {
        client_ip: '10.0.0.1',
        hsm_id: '567782',
        object_ids: ['42'],
        role: 'CO',
        meta: JSON.parse(meta({ ouids: 42 })) as unknown,
        meta_raw: meta({ ouids: 42 }),
        meta_malformed: false,
      },
      // Kept raw and flagged; the fields read out of the text fill the columns (the role it ends in is dropped).
      malformed: {
        client_ip: '10.0.0.1',
        hsm_id: null,
        object_ids: [],
        role: null,
        meta: null,
        meta_raw: '{"clientip":"10.0.0.1","role":',
        meta_malformed: true,
      },
      'not-an-object': {
        client_ip: null,
        hsm_id: null,
        object_ids: [],
        role: null,
        meta: null,
        meta_raw: '"just text"',
        meta_malformed: true,
      },
      'array-value': {
        client_ip: null,
        hsm_id: null,
        object_ids: [],
        role: null,
        meta: null,
        meta_raw: '["x"]',
        meta_malformed: true,
      },
      blank: {
        client_ip: null,
        hsm_id: null,
        object_ids: [],
        role: null,
        meta: null,
        meta_raw: '  ',
        meta_malformed: false,
      },
      null: {
        client_ip: null,
        hsm_id: null,
        object_ids: [],
        role: null,
        meta: null,
        meta_raw: null,
        meta_malformed: false,
      },
      absent: {
        client_ip: null,
        hsm_id: null,
        object_ids: [],
        role: null,
        meta: null,
        meta_raw: null,
        meta_malformed: false,
      },
    });
    const run = await store.t.db.selectFrom('ingest_runs').select('malformed_meta').executeTakeFirstOrThrow();
    expect(run.malformed_meta).toBe('3');
  });

  it('stores client_ip as inet: IPv4, IPv6, mapped, prefixes, and the address out of a port, brackets or a zone id; garbage as null', async () => {
    const ips: Record<string, [unknown, string | null]> = {
      v4: ['10.0.0.1', '10.0.0.1'],
      'v4-spaces': [' 10.0.0.2 ', '10.0.0.2'],
      v6: ['2001:db8::1', '2001:db8::1'],
      'v6-long': ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      'v4-mapped': ['::ffff:10.0.0.3', '::ffff:10.0.0.3'],
      'v4-prefix': ['10.0.0.0/24', '10.0.0.0/24'],
      'v6-prefix': ['2001:db8::/32', '2001:db8::/32'],
      'v4-port': ['10.0.0.4:443', '10.0.0.4'],
      'v6-brackets-port': ['[2001:db8::2]:8443', '2001:db8::2'],
      'v6-brackets': ['[2001:db8::3]', '2001:db8::3'],
      'v6-zone': ['fe80::1%eth0', 'fe80::1'],
      'prefix-too-long': ['10.0.0.1/33', null],
      'octet-too-big': ['999.1.1.1', null],
      'leading-zero': ['010.0.0.1', null],
      'too-many-groups': ['1::2:3:4:5:6:7:8', null],
      'port-too-long': ['10.0.0.5:123456', null],
      'v6-unbracketed-port': ['2001:db8::4:443', '2001:db8::4:443'],
      garbage: ['not-an-ip', null],
      empty: ['', null],
      number: [167772161, null],
      list: [['10.0.0.6'], null],
    };
    const stored = await importAndRead(
      Object.fromEntries(Object.entries(ips).map(([name, [ip]]) => [name, { meta: meta({ clientip: ip }) }])),
      ['client_ip', 'meta'],
    );
    expect(Object.fromEntries(Object.entries(stored).map(([name, r]) => [name, r.client_ip]))).toEqual(
      Object.fromEntries(Object.entries(ips).map(([name, [, inet]]) => [name, inet])),
    );
    // The text as given stays in meta.
    expect(stored['v6-zone']!.meta).toMatchObject({ clientip: 'fe80::1%eth0' });
  });
});
