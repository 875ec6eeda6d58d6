import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DEFAULT_DETECTION_SETTINGS, detectFindings } from '../../src/detect';
import { importFiles } from '../../src/ingest';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { startGraphqlFixture, type GraphqlFixture } from './support/graphql-fixture';

// Query.findings, lunaDetectionRules and acknowledgeFinding over a store the simulator filled, with findings the real
// detection pass raised on hand-made bursts added to two of its services.

let f: GraphqlFixture;
let dir: string;
const services: string[] = [];

interface FindingNode {
  id: string;
  rule: string;
  severity: string;
  status: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  summary: string;
  service: { id: string };
  client: { id: string } | null;
  acknowledgedBy: string | null;
  acknowledgeNote: string | null;
}
interface FindingsData {
  findings: {
    totalCount: number;
    nodes: FindingNode[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const FINDINGS = `query ($filter: FindingFilter, $first: Int, $after: String) {
  findings(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id rule severity status count firstSeen lastSeen summary service { id } client { id } acknowledgedBy acknowledgeNote }
  } }`;

beforeAll(async () => {
  f = await startGraphqlFixture();
  dir = mkdtempSync(join(tmpdir(), 'findings-gql-'));
  const { rows } = await f.t.pool.query<{ service_id: string; client_id: string }>(
    'select distinct on (service_id) service_id, client_id from audit_events order by service_id, client_id limit 2',
  );
  const burstAt = f.to.getTime() - 6 * 3_600_000;
  const events = rows.flatMap((r, k) => {
    services.push(r.service_id);
    const wrongPins = Array.from({ length: 6 + k }, (_, i) =>
      record({
        time: new Date(burstAt + k * 60_000 + i * 1000).toISOString(),
        resourceID: r.service_id,
        actorID: r.client_id,
        action: 'LUNA_LOGIN',
        status: 'LUNA_RET_UM_PIN_INCORRECT',
        traceID: `burst-${k}-${i}`,
      }),
    );
    const zeroize = record({
      time: new Date(burstAt + 3_600_000).toISOString(),
      resourceID: r.service_id,
      actorID: r.client_id,
      action: 'LUNA_PARTITION_ZEROIZE',
      traceID: `zeroize-${k}`,
      meta: JSON.stringify({ clientip: '10.0.0.1', role: 'PO' }),
    });
    // A signature in the middle of the run: not evidence of it (and no login, so the run goes on).
    const sign = record({
      time: new Date(burstAt + k * 60_000 + 2500).toISOString(),
      resourceID: r.service_id,
      actorID: r.client_id,
      traceID: `sign-${k}`,
    });
    return [...wrongPins, sign, zeroize];
  });
  await importFiles({ db: f.t.db, pool: f.t.pool }, [writeText(join(dir, 'bursts.jsonl'), jsonLines(events))], {
    leaves: false,
  });
  await detectFindings(
    f.t.pool,
    { from: f.from, to: f.to },
    { ...DEFAULT_DETECTION_SETTINGS, rules: ['PIN_FAILURE_BURST', 'DESTRUCTIVE_OPERATION'] },
  );
}, 120_000);

afterAll(async () => {
  await f.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function stored(): Promise<{ id: string; rule: string; service_id: string; count: number }[]> {
  const { rows } = await f.t.pool.query<{ id: string; rule: string; service_id: string; count: number }>(
    'select id::text, rule, service_id, count from findings order by first_seen desc, id desc',
  );
  return rows;
}

it('pages the stored findings newest first, filtered, with their service, client and counts', async () => {
  const all = await stored();
  expect(all.filter((r) => r.rule === 'DESTRUCTIVE_OPERATION')).toHaveLength(2);
  const first = await f.gqlData<FindingsData>(FINDINGS, { first: 2 });
  expect(first.findings.totalCount).toBe(all.length);
  expect(first.findings.nodes.map((n) => n.id)).toEqual(all.slice(0, 2).map((r) => r.id));
  expect(first.findings.pageInfo.hasNextPage).toBe(all.length > 2);
  const rest = await f.gqlData<FindingsData>(FINDINGS, { first: 500, after: first.findings.pageInfo.endCursor });
  expect([...first.findings.nodes, ...rest.findings.nodes].map((n) => [n.id, n.count, n.service.id])).toEqual(
    all.map((r) => [r.id, r.count, r.service_id]),
  );

  const destructive = await f.gqlData<FindingsData>(FINDINGS, {
    filter: { rules: ['DESTRUCTIVE_OPERATION'], serviceIds: [services[1]] },
  });
  expect(destructive.findings.nodes).toEqual([
    expect.objectContaining({ rule: 'DESTRUCTIVE_OPERATION', severity: 'CRITICAL', status: 'OPEN', count: 1 }),
  ]);
  expect(destructive.findings.nodes[0]!.service.id).toBe(services[1]);
  // A time range matches the findings whose first..last seen overlaps it.
  const at = Date.parse(destructive.findings.nodes[0]!.firstSeen);
  const overlapping = await f.gqlData<FindingsData>(FINDINGS, {
    filter: { rules: ['DESTRUCTIVE_OPERATION'], from: new Date(at).toISOString(), to: new Date(at + 1).toISOString() },
  });
  expect(overlapping.findings.totalCount).toBe(2);
  const later = await f.gqlData<FindingsData>(FINDINGS, {
    filter: { rules: ['DESTRUCTIVE_OPERATION'], from: new Date(at + 1).toISOString() },
  });
  expect(later.findings.totalCount).toBe(0);
});

it("links each finding's evidence events: as many as its count, of its service and client, matching its rule", async () => {
  const EVIDENCE = `query { findings(first: 500) { nodes { id rule count service { id } client { id }
    events(first: 500) { totalCount nodes { time action status meta { role } service { id } client { id } } } } } }`;
  const data = await f.gqlData<{
    findings: {
      nodes: (FindingNode & {
        events: {
          totalCount: number;
          nodes: {
            time: string;
            action: string;
            status: string;
            meta: { role: string | null };
            service: { id: string };
            client: { id: string };
          }[];
        };
      })[];
    };
  }>(EVIDENCE);
  expect(data.findings.nodes.length).toBeGreaterThan(2);
  for (const n of data.findings.nodes) {
    expect({ id: n.id, total: n.events.totalCount, listed: n.events.nodes.length }).toEqual({
      id: n.id,
      total: n.count,
      listed: n.count,
    });
    for (const e of n.events.nodes) {
      expect([e.service.id, e.client.id]).toEqual([n.service.id, n.client!.id]);
      if (n.rule === 'PIN_FAILURE_BURST')
        expect(
          e.status === 'LUNA_RET_UM_PIN_INCORRECT' ||
            (e.action === 'LUNA_LOGIN' && e.status !== 'LUNA_RET_OK') ||
            e.status.includes('LOCKED'),
        ).toBe(true);
      else expect([e.action, e.meta.role]).toEqual(['LUNA_PARTITION_ZEROIZE', 'PO']);
    }
    // Oldest first by default.
    const times = n.events.nodes.map((e) => Date.parse(e.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }
  // The hand-made bursts are there with their six and seven wrong PINs.
  const mine = data.findings.nodes.filter((n) => n.rule === 'PIN_FAILURE_BURST' && services.includes(n.service.id));
  expect(mine.map((n) => n.count)).toEqual(expect.arrayContaining([6, 7]));
});

it('keeps a caller confined to some services to their findings', async () => {
  const scoped = await f.gqlData<FindingsData>(FINDINGS, { first: 500 }, { services: [services[0]!] });
  const mine = (await stored()).filter((r) => r.service_id === services[0]);
  expect(scoped.findings.totalCount).toBe(mine.length);
  expect(scoped.findings.nodes.every((n) => n.service.id === services[0])).toBe(true);
});

it('lists the rules with the settings in force', async () => {
  const data = await f.gqlData<{
    lunaDetectionRules: {
      code: string;
      severity: string;
      enabled: boolean;
      settings: { variable: string; value: string }[];
    }[];
  }>('{ lunaDetectionRules { code severity enabled settings { variable value } } }');
  expect(data.lunaDetectionRules.map((r) => r.code)).toEqual(DEFAULT_DETECTION_SETTINGS.rules);
  expect(data.lunaDetectionRules[0]).toEqual({
    code: 'PIN_FAILURE_BURST',
    severity: 'HIGH',
    enabled: true,
    settings: [
      { variable: 'DETECT_PIN_FAILURES', value: '5' },
      { variable: 'DETECT_PIN_WINDOW_SECONDS', value: '600' },
    ],
  });
});

it('acknowledges a finding for a caller with audit:triage only, recording who and the note', async () => {
  const [target] = (await stored()).filter((r) => r.service_id === services[0]);
  const ACK = `mutation ($id: ID!, $note: String) { acknowledgeFinding(id: $id, note: $note) { id status acknowledgedBy acknowledgeNote } }`;
  const denied = await f.gql(ACK, { id: target!.id, note: 'seen' });
  expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const elsewhere = await f.gql(ACK, { id: target!.id, note: 'seen' }, { triage: true, services: [services[1]!] });
  expect(elsewhere.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const unknown = await f.gql(ACK, { id: 'x1' }, { triage: true });
  expect(unknown.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const done = await f.gqlData<{ acknowledgeFinding: Record<string, unknown> }>(
    ACK,
    { id: target!.id, note: 'operator mistyped, confirmed by phone' },
    { triage: true },
  );
  expect(done.acknowledgeFinding).toEqual({
    id: target!.id,
    status: 'ACKNOWLEDGED',
    acknowledgedBy: 'test',
    acknowledgeNote: 'operator mistyped, confirmed by phone',
  });
  const open = await f.gqlData<FindingsData>(FINDINGS, { first: 500, filter: { status: 'OPEN' } });
  expect(open.findings.nodes.map((n) => n.id)).not.toContain(target!.id);
  expect(open.findings.totalCount).toBe((await stored()).length - 1);
});

describe('Service.findings and Client.findings', () => {
  const PAGE = `totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id }`;
  interface Page {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
    nodes: { id: string }[];
  }
  const NESTED = `query ($service: ID!, $client: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    service(id: $service) { findings(first: $first, after: $after, last: $last, before: $before) { ${PAGE} } }
    client(id: $client) { findings(first: $first, after: $after, last: $last, before: $before) { ${PAGE} } }
    byService: findings(filter: { serviceIds: [$service] }, first: $first, after: $after, last: $last, before: $before) { ${PAGE} }
    byClient: findings(filter: { clientIds: [$client] }, first: $first, after: $after, last: $last, before: $before) { ${PAGE} }
  }`;
  type Nested = { service: { findings: Page }; client: { findings: Page }; byService: Page; byClient: Page };

  async function clientOf(service: string): Promise<string> {
    const { rows } = await f.t.pool.query<{ client_id: string }>(
      'select client_id from findings where service_id = $1 and client_id is not null order by first_seen limit 1',
      [service],
    );
    return rows[0]!.client_id;
  }

  it('page exactly as Query.findings with the service or client in the filter, forwards and backwards', async () => {
    for (const service of services) {
      const client = await clientOf(service);
      let after: string | null = null;
      const seen: string[] = [];
      for (let i = 0; i < 10; i++) {
        const d: Nested = await f.gqlData<Nested>(NESTED, { service, client, first: 1, after });
        expect(d.service.findings).toEqual(d.byService);
        expect(d.client.findings).toEqual(d.byClient);
        expect(d.byService.totalCount).toBeGreaterThan(1);
        seen.push(...d.service.findings.nodes.map((n) => n.id));
        if (!d.service.findings.pageInfo.hasNextPage) break;
        after = d.service.findings.pageInfo.endCursor;
      }
      const mine = (await stored()).filter((r) => r.service_id === service).map((r) => r.id);
      expect(seen).toEqual(mine);
      const back = await f.gqlData<Nested>(NESTED, { service, client, last: 1 });
      expect(back.service.findings).toEqual(back.byService);
      expect(back.client.findings).toEqual(back.byClient);
      const before = await f.gqlData<Nested>(NESTED, {
        service,
        client,
        last: 1,
        before: back.service.findings.pageInfo.startCursor,
      });
      expect(before.service.findings).toEqual(before.byService);
      expect(before.service.findings.nodes.map((n) => n.id)).toEqual([mine[mine.length - 2]]);
    }
  });

  it("show a confined caller none of another service's findings", async () => {
    const [mine, other] = [services[0]!, services[1]!];
    const otherClient = await clientOf(other);
    const q = `query ($other: ID!, $client: ID!) {
      services(first: 100) { nodes { id findings(first: 500) { totalCount nodes { service { id } } }
        clients(first: 100) { nodes { findings(first: 500) { totalCount nodes { service { id } } } } } } }
      service(id: $other) { findings { totalCount } }
      client(id: $client) { findings { totalCount } }
      _entities(representations: [{ __typename: "Service", id: $other }, { __typename: "Client", id: $client }]) {
        ... on Service { findings { totalCount } } ... on Client { findings { totalCount } } } }`;
    const body = await f.gql<{
      services: { nodes: { id: string; findings: { totalCount: number; nodes: { service: { id: string } }[] } }[] };
      service: unknown;
      client: unknown;
      _entities: unknown[];
    }>(q, { other, client: otherClient }, { services: [mine] });
    expect(body.errors).toBeUndefined();
    expect(body.data!.services.nodes.map((s) => s.id)).toEqual([mine]);
    expect(body.data!.services.nodes[0]!.findings.totalCount).toBe(
      (await stored()).filter((r) => r.service_id === mine).length,
    );
    expect(JSON.stringify(body.data!.services)).not.toContain(other);
    expect([body.data!.service, body.data!.client, body.data!._entities]).toEqual([null, null, [null, null]]);
  });

  it('reads the findings of every service and client in a constant number of statements', async () => {
    const q = `query ($n: Int) { services(first: $n) { nodes {
      findings(first: 5) { totalCount nodes { id } }
      clients(first: 10) { nodes { findings(first: 2) { nodes { id } } } } } } }`;
    const counts: number[] = [];
    for (const n of [1, 100]) {
      f.resetCounts();
      const d = await f.gqlData<{ services: { nodes: { findings: { totalCount: number } }[] } }>(q, { n });
      expect(d.services.nodes.length > 1).toBe(n > 1);
      counts.push(f.sqlCount());
    }
    expect(counts).toEqual([3, 3]);
  });
});
