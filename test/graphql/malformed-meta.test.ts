import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFiles } from '../../src/ingest';
import { jsonLines, record } from '../ingest/hand-made';
import { startGraphqlFixture, type GraphqlFixture } from './support/graphql-fixture';

/** DPoD's documented meta example (a backslash missing after ouids' value), with a real address and serials. */
const DPOD_PAGE_META = `{
    \\"clientip\\":\\"198.51.100.23\\",
    \\"hsmid\\":\\"567782\\",
    \\"ouids\\":\\"2d00000012ab",
    \\"partid\\":\\"1334049524932\\",
    \\"role\\":\\"PO\\"
  }`;

let f: GraphqlFixture;
let dir: string;

beforeAll(async () => {
  f = await startGraphqlFixture({ ingest: false });
  dir = mkdtempSync(join(tmpdir(), 'malformed-meta-'));
  const path = join(dir, 'dpod-page.jsonl');
  writeFileSync(
    path,
    jsonLines([
      record({ time: '2026-11-20 10:00:00 UTC', meta: DPOD_PAGE_META }),
      record({ time: '2026-11-20 10:00:01 UTC', action: 'LUNA_LOGIN' }),
    ]),
  );
  const [summary] = await importFiles({ db: f.t.db, pool: f.t.pool }, [path], { progressBar: false });
  expect(summary).toMatchObject({ state: 'succeeded', inserted: 2, malformedMeta: 1 });
});

afterAll(async () => {
  await f.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  auditEvents: {
    totalCount: number;
    nodes: { action: string; meta: { clientIp: string | null; hsmId: string | null; objectIds: string[] } & Meta }[];
    aggregate: { byRole: { key: string; count: number }[] };
  };
}
interface Meta {
  partitionSerial: string | null;
  role: string | null;
  malformed: boolean;
  raw: string | null;
}

it('counts an event whose meta is DPoD documented malformed shape under its role, address and key', async () => {
  const query = `query ($filter: AuditEventFilter) { auditEvents(filter: $filter) {
    totalCount nodes { action meta { clientIp hsmId objectIds partitionSerial role malformed raw } }
    aggregate { byRole { key count } } } }`;
  const all = await f.gqlData<Answer>(query, {});
  expect(all.auditEvents.aggregate.byRole).toEqual([
    { key: 'CO', count: 1 },
    { key: 'PO', count: 1 },
  ]);
  const wanted = {
    auditEvents: {
      totalCount: 1,
      nodes: [
        {
          action: 'LUNA_SIGN',
          meta: {
            clientIp: '198.51.100.23',
            hsmId: '567782',
            objectIds: ['2d00000012ab'],
            partitionSerial: '1334049524932',
            role: 'PO',
            malformed: true,
            raw: DPOD_PAGE_META,
          },
        },
      ],
      aggregate: { byRole: [{ key: 'PO', count: 1 }] },
    },
  };
  expect(await f.gqlData<Answer>(query, { filter: { roles: ['PO'] } })).toEqual(wanted);
  expect(await f.gqlData<Answer>(query, { filter: { clientIps: ['198.51.100.0/24'] } })).toEqual(wanted);
  expect(await f.gqlData<Answer>(query, { filter: { objectId: '2d00000012ab', actions: ['LUNA_SIGN'] } })).toEqual(
    wanted,
  );
});
