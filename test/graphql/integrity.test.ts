import { sql } from 'kysely';
import { sealClosedPeriods } from '../../src/integrity';
import { rootFromProof } from '../../src/integrity/merkle';
import { startGraphqlFixture, type GraphqlFixture } from './support/graphql-fixture';

let f: GraphqlFixture;

beforeAll(async () => {
  f = await startGraphqlFixture();
  const outcome = await sealClosedPeriods(f.t.pool, { closedBefore: new Date() });
  expect(outcome.sealed).toBeGreaterThan(10);
}, 120_000);

afterAll(async () => {
  await f.stop();
});

interface Period {
  start: string;
  service: { id: string };
  eventCount: number;
  root: string | null;
  version: number;
  status: string;
  missing: number;
  added: number;
  changed: number;
  problem: string | null;
}
interface Report {
  integrity: {
    verified: boolean;
    periods: Period[];
    firstMismatch: Period | null;
    chainProblems: string[];
    publicKey: { fingerprint: string } | null;
  };
}
interface Proof {
  periodStart: string;
  version: number;
  root: string;
  leafHash: string;
  leafIndex: number;
  leafCount: number;
  steps: { side: 'left' | 'right'; hash: string }[];
}
interface Page {
  auditEvents: { nodes: { id: string; time: string; service: { id: string }; inclusionProof: Proof | null }[] };
}

const REPORT = `query ($filter: IntegrityFilter) { integrity(filter: $filter) {
  verified chainProblems publicKey { fingerprint }
  periods { start service { id } eventCount root version status missing added changed problem }
  firstMismatch { start service { id } status changed missing added problem } } }`;
const PAGE = `query ($first: Int!) { auditEvents(first: $first, orderBy: TIME_ASC) { nodes {
  id time service { id }
  inclusionProof { periodStart version root leafHash leafIndex leafCount steps { side hash } } } } }`;

const range = () => ({ from: f.from.toISOString(), to: f.to.toISOString() });
const hourOf = (time: string) => `${time.slice(0, 13)}:00:00.000Z`;

it('reports every sealed (service, hour) of the range as SEALED, with the count the store holds', async () => {
  const { integrity } = await f.gqlData<Report>(REPORT, { filter: range() });
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from (select distinct service_id, date_trunc('hour', time) from audit_events) p`.execute(
    f.t.db,
  );
  expect(integrity).toMatchObject({ verified: true, firstMismatch: null, chainProblems: [], publicKey: null });
  expect(integrity.periods).toHaveLength(rows[0]!.n);
  expect(new Set(integrity.periods.map((p) => p.status))).toEqual(new Set(['SEALED']));
  const total = await sql<{ n: number }>`select count(*)::int as n from audit_events`.execute(f.t.db);
  expect(integrity.periods.reduce((s, p) => s + p.eventCount, 0)).toBe(total.rows[0]!.n);
});

it("proves each event's inclusion: its path leads to the root integrity reports, in a constant number of statements", async () => {
  const { integrity } = await f.gqlData<Report>(REPORT, { filter: range() });
  const rootOf = new Map(integrity.periods.map((p) => [`${p.service.id}|${p.start}`, p.root]));
  f.resetCounts();
  const small = await f.gqlData<Page>(PAGE, { first: 3 });
  const fewStatements = f.sqlCount();
  f.resetCounts();
  const page = await f.gqlData<Page>(PAGE, { first: 60 });
  expect(f.sqlCount()).toBe(fewStatements);
  expect(small.auditEvents.nodes).toHaveLength(3);
  for (const e of page.auditEvents.nodes) {
    const proof = e.inclusionProof;
    if (!proof) throw new Error(`no proof for ${e.id}`);
    expect(proof.periodStart).toBe(hourOf(e.time));
    expect(rootOf.get(`${e.service.id}|${proof.periodStart}`)).toBe(proof.root);
    const root = rootFromProof(
      Buffer.from(proof.leafHash, 'hex'),
      proof.steps.map((s) => ({ side: s.side, hash: s.hash })),
    );
    expect(root.toString('hex')).toBe(proof.root);
  }
});

it('names the period of an event altered by direct SQL, withdraws its proof, and keeps a scoped caller to its services', async () => {
  const first = (await f.gqlData<Page>(PAGE, { first: 2 })).auditEvents.nodes;
  const victim = first[0]!;
  await sql`update audit_events set status = 'LUNA_RET_SM_UNKNOWN_ERROR'
             where time = ${victim.time}::timestamptz and service_id = ${victim.service.id}
               and id = (select min(id) from audit_events where time = ${victim.time}::timestamptz
                           and service_id = ${victim.service.id})`.execute(f.t.db);
  const { integrity } = await f.gqlData<Report>(REPORT, { filter: range() });
  expect(integrity.verified).toBe(false);
  expect(integrity.firstMismatch).toEqual({
    start: hourOf(victim.time),
    service: { id: victim.service.id },
    status: 'MISMATCH',
    changed: 1,
    missing: 0,
    added: 0,
    problem: '1 event(s) changed',
  });
  expect(integrity.periods.filter((p) => p.status === 'MISMATCH')).toHaveLength(1);

  // Only the altered event loses its proof; the others of its period (and of the page) keep theirs.
  const after = (await f.gqlData<Page>(PAGE, { first: 60 })).auditEvents.nodes;
  expect(after.filter((e) => e.inclusionProof === null).map((e) => e.id)).toEqual([victim.id]);
  expect(
    after.some(
      (e) => e.service.id === victim.service.id && hourOf(e.time) === hourOf(victim.time) && e.id !== victim.id,
    ),
  ).toBe(true);

  const others = f.sim.tenant
    .listedServices()
    .map((s) => s.id)
    .filter((id) => id !== victim.service.id);
  const scoped = await f.gqlData<Report>(REPORT, { filter: range() }, { services: others });
  expect(scoped.integrity.verified).toBe(true);
  expect(scoped.integrity.periods.length).toBeGreaterThan(0);
  expect(scoped.integrity.periods.every((p) => others.includes(p.service.id))).toBe(true);
  const asked = await f.gqlData<Report>(
    REPORT,
    { filter: { ...range(), serviceIds: [victim.service.id] } },
    { services: others },
  );
  expect(asked.integrity.periods).toEqual([]);
});

it('refuses a range longer than the per-query limit with BAD_USER_INPUT', async () => {
  const res = await f.gql(REPORT, { filter: { from: '2026-01-01T00:00:00Z', to: '2026-06-01T00:00:00Z' } });
  expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(res.errors?.[0]?.message).toContain('dpod-audit verify');
});

it('names a deleted, a forged and a moved event, each in its period', async () => {
  const { rows } = await sql<{ service_id: string; hour: Date; id: string }>`
    select distinct on (service_id, date_trunc('hour', time)) service_id, date_trunc('hour', time) as hour,
           id::text as id
      from audit_events
     where time >= '2026-11-19T00:00:00Z' and time < '2026-11-19T12:00:00Z'
     order by service_id, date_trunc('hour', time), time, id`.execute(f.t.db);
  const service = rows[0]!.service_id;
  const [del, forge, move] = rows.filter((r) => r.service_id === service && r.hour.getUTCHours() % 3 === 0);
  if (!del || !forge || !move) throw new Error('the fixture has too few hours');
  await sql`delete from audit_events where id = ${del.id}::bigint`.execute(f.t.db);
  await sql`insert into audit_events (time, event_key, occurrence, source, partition_id, service_id, client_id, action, status)
            select time, gen_random_uuid(), 0, source, partition_id, service_id, client_id, 'LUNA_WRAP_KEY', status
              from audit_events where id = ${forge.id}::bigint`.execute(f.t.db);
  await sql`update audit_events set time = time + interval '1 hour' where id = ${move.id}::bigint`.execute(f.t.db);
  const { integrity } = await f.gqlData<Report>(REPORT, { filter: range() });
  const at = (d: Date) => d.toISOString();
  const bad = integrity.periods
    .filter((p) => p.status === 'MISMATCH' && p.service.id === service && p.start >= '2026-11-19')
    .map((p) => `${p.start} ${p.problem ?? ''}`);
  expect(bad).toEqual([
    `${at(del.hour)} 1 event(s) missing`,
    `${at(forge.hour)} 1 event(s) added`,
    `${at(move.hour)} 1 event(s) missing`,
    `${new Date(move.hour.getTime() + 3_600_000).toISOString()} 1 event(s) added`,
  ]);
});
