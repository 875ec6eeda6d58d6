import { createHash, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { importFiles } from '../../src/ingest';
import { EXPORT_COLUMNS, csvCell } from '../../src/export/event-export';
import { encodeAuditEventId } from '../../src/graphql/audit/audit-event';
import { ExportLinkSigner } from '../../src/export/export-link';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { bearer as signedBearer } from './support/bearer';
import { dataOf, gql } from './support/http';
import { startSeededApp, type SeededApp } from './support/seeded-app';
import { runCli } from '../support/cli';

const SECRET = 'export-test-secret-that-is-long-enough-for-hs256';
const ISSUER = 'https://idp.export.test/';
const AUDIENCE = 'dpod-audit-gateway';
const LINK_SECRET = 'export-link-secret-of-at-least-32-characters';
const bearer = async (claims: Record<string, unknown>) =>
  (await signedBearer({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, subject: 'export-test' }, claims))
    .authorization!;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | undefined>;
  body: Buffer;
}

/** GET or POST /export with node:http (fetch does not show trailers). */
function exportRequest(
  base: string,
  options: { query?: Record<string, string>; body?: unknown; authorization?: string; gzip?: boolean },
): Promise<Answer> {
  const url = new URL('/export', base);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.body === undefined ? 'GET' : 'POST',
        headers: {
          ...(options.authorization ? { authorization: options.authorization } : {}),
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(options.gzip ? { 'accept-encoding': 'gzip' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            trailers: res.trailers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

/** RFC 4180 parsing, enough for the test: quoted cells, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  return rows;
}

let app: SeededApp;
let dir: string;
let serviceA: string;
let serviceB: string;
let asAll: string;
let asA: string;
let from: string;
let to: string;
let hostileFrom: string;
let oddFrom: string;

beforeAll(async () => {
  app = await startSeededApp({
    env: {
      AUTH_MODE: 'jwt',
      JWT_SECRET: SECRET,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      EXPORT_LINK_SECRET: LINK_SECRET,
    },
    eventsPerDay: 400,
  });
  const luna = app.sim.tenant.listedServices().filter((s) => s.hasAuditData);
  [serviceA, serviceB] = [luna[0]!.id, luna[1]!.id];
  asAll = await bearer({ scope: 'audit:read' });
  asA = await bearer({ scope: 'audit:read', services: [serviceA] });
  // Cells a spreadsheet would run as formulas, and ones that need quoting.
  dir = await mkdtemp(join(tmpdir(), 'dpod-export-'));
  const now = app.sim.tenant.now().getTime();
  to = new Date(now).toISOString();
  from = new Date(now - 2 * 86_400_000).toISOString();
  hostileFrom = new Date(now - 3_600_000).toISOString();
  const base = now - 3_600_000;
  const hostile = ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(A1)', 'a,b "quoted"\nline'];
  const file = writeText(
    join(dir, `${randomUUID()}.jsonl`),
    jsonLines(
      hostile.map((traceID, i) =>
        record({
          time: new Date(base + i * 1000).toISOString(),
          resourceID: serviceA,
          actorID: luna[0]!.clients[0]!.id,
          traceID,
        }),
      ),
    ),
  );
  await importFiles({ db: app.db.db, pool: app.db.pool }, [file], { progressBar: false });
  // Text in every column that CSV must quote or guard, or that could be taken for a separator.
  // Twenty days back: before the simulated traffic, so the window holds these four events only.
  oddFrom = new Date(now - 20 * 86_400_000).toISOString();
  const odd = [
    { tenantID: '@evil', source: 'src,with,commas', traceID: 'unit\u001fseparator' },
    { action: 'LUNA_SIGN"quoted', status: '-1', meta: '=cmd|calc {not json' },
    { traceID: "back\\slash 'single' ünïcode", meta: JSON.stringify({ role: '+CO', ouids: 'a,b', hsmid: '\tx' }) },
    { actorID: 'client,with,comma', traceID: '\rstarts with CR' },
  ];
  const oddFile = writeText(
    join(dir, `${randomUUID()}.jsonl`),
    jsonLines(
      odd.map((fields, i) =>
        record({ time: new Date(Date.parse(oddFrom) + i * 1000).toISOString(), resourceID: serviceA, ...fields }),
      ),
    ),
  );
  await importFiles({ db: app.db.db, pool: app.db.pool }, [oddFile], { progressBar: false });
}, 120_000);

afterAll(async () => {
  await app?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function graphqlIds(filter: Record<string, unknown>, token: string, order = 'TIME_ASC'): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } = dataOf(
      await gql<{ auditEvents: typeof page }>(
        app.url,
        `query($f: AuditEventFilter, $after: String, $o: AuditEventOrder) { auditEvents(filter: $f, first: 500, after: $after, orderBy: $o) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
        { f: filter, after, o: order },
        { authorization: token },
      ),
    ).auditEvents;
    ids.push(...page.nodes.map((n) => n.id));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor;
  }
}

it('exports a filter as CSV and as NDJSON, row for row what GraphQL pages return, in both orders', async () => {
  const filter = { from, to, serviceIds: [serviceA], succeeded: true };
  const expected = await graphqlIds(filter, asAll);
  expect(expected.length).toBeGreaterThan(500);
  const csv = await exportRequest(app.url, {
    query: { format: 'csv', filter: JSON.stringify(filter) },
    authorization: asAll,
  });
  expect(csv.status).toBe(200);
  expect(csv.headers['content-type']).toMatch(/^text\/csv/);
  expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="dpod-audit-.*\.csv"$/);
  const rows = parseCsv(csv.body.toString('utf8'));
  expect(rows[0]).toEqual([...EXPORT_COLUMNS]);
  expect(rows.slice(1).map((r) => r[0])).toEqual(expected);
  // Times are RFC 3339 in UTC.
  for (const r of rows.slice(1, 20)) expect(r[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  // The trailers: the SHA-256 of the bytes sent and the number of events.
  expect(csv.trailers['x-dpod-audit-export-sha256']).toBe(createHash('sha256').update(csv.body).digest('hex'));
  expect(csv.trailers['x-dpod-audit-export-events']).toBe(String(expected.length));

  const desc = await exportRequest(app.url, {
    body: { format: 'ndjson', order: 'TIME_DESC', filter },
    authorization: asAll,
  });
  expect(desc.status).toBe(200);
  const lines = desc.body.toString('utf8').trimEnd().split('\n');
  const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(objects.map((o) => o.id)).toEqual(await graphqlIds(filter, asAll, 'TIME_DESC'));
  expect(Object.keys(objects[0]!)).toEqual([...EXPORT_COLUMNS]);
  expect(objects.every((o) => o.serviceId === serviceA && o.succeeded === true)).toBe(true);
});

it('is confined to the token: a scoped token exports nothing outside its services', async () => {
  const all = await exportRequest(app.url, { body: { format: 'ndjson', filter: { from, to } }, authorization: asA });
  const services = new Set(
    all.body
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { serviceId: string }).serviceId),
  );
  expect(services).toEqual(new Set([serviceA]));
  const other = await exportRequest(app.url, {
    body: { format: 'csv', filter: { serviceIds: [serviceB] } },
    authorization: asA,
  });
  expect(other.status).toBe(200);
  expect(parseCsv(other.body.toString('utf8'))).toEqual([[...EXPORT_COLUMNS]]);
  expect((await exportRequest(app.url, { body: { filter: {} } })).status).toBe(401);
});

it('neutralises formula cells and quotes what RFC 4180 needs', async () => {
  const csv = await exportRequest(app.url, {
    body: { format: 'csv', filter: { from, serviceIds: [serviceA], clientIds: [] } },
    authorization: asAll,
  });
  expect(parseCsv(csv.body.toString('utf8'))).toEqual([[...EXPORT_COLUMNS]]);
  const traces = parseCsv(
    (
      await exportRequest(app.url, {
        body: {
          format: 'csv',
          filter: { from: hostileFrom, serviceIds: [serviceA] },
        },
        authorization: asAll,
      })
    ).body.toString('utf8'),
  )
    .slice(1)
    .map((r) => r[EXPORT_COLUMNS.indexOf('traceId')]);
  for (const cell of ['\'=HYPERLINK("http://evil.example","x")', "'+1+1", "'-2+3", "'@SUM(A1)", 'a,b "quoted"\nline'])
    expect(traces).toContain(cell);
  expect(csvCell('\tx')).toBe("'\tx");
  expect(csvCell('\rx')).toBe('"\'\rx"');
  expect(csvCell('plain')).toBe('plain');
});

it('writes every column of odd events exactly as csvCell and JSON.stringify would, whichever column holds the text', async () => {
  const filter = { from: oddFrom, to: new Date(Date.parse(oddFrom) + 60_000).toISOString(), serviceIds: [serviceA] };
  const { rows } = await app.db.pool.query<Record<string, string | boolean | string[] | null>>(
    `select e.id::text as id, (extract(epoch from e.time) * 1000000)::bigint::text as time_us,
            to_char(e.time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as time, e.service_id as "serviceId",
            e.client_id as "clientId", e.tenant_id as "tenantId", e.action, e.status, e.status = 'LUNA_RET_OK' as succeeded,
            e.source, e.partition_id as "partitionId", e.trace_id as "traceId", host(e.client_ip) as "clientIp",
            e.hsm_id as "hsmId", e.object_ids as "objectIds", e.partition_serial as "partitionSerial", e.role,
            e.meta_malformed as "metaMalformed", coalesce(e.meta_raw, e.meta::text) as "metaRaw"
       from audit_events e where e.time >= $1 and e.time < $2 and e.service_id = $3 order by e.time, e.id`,
    [filter.from, filter.to, serviceA],
  );
  expect(rows).toHaveLength(4);
  const expected: Record<string, string | boolean | string[] | null>[] = rows.map((r) => ({
    ...r,
    id: encodeAuditEventId({ timeUs: r.time_us as string, id: r.id as string }),
  }));
  const csv = await exportRequest(app.url, { body: { format: 'csv', filter }, authorization: asAll });
  expect(csv.body.toString('utf8')).toBe(
    [EXPORT_COLUMNS.join(','), ...expected.map((r) => EXPORT_COLUMNS.map((c) => csvCell(r[c] ?? null)).join(','))]
      .map((l) => `${l}\r\n`)
      .join(''),
  );
  const ndjson = await exportRequest(app.url, { body: { format: 'ndjson', filter }, authorization: asAll });
  expect(ndjson.body.toString('utf8')).toBe(
    expected.map((r) => `${JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((c) => [c, r[c]])))}\n`).join(''),
  );
  // The odd text is there, guarded: a formula cell starts with a quote mark.
  expect(csv.body.toString('utf8')).toContain(`,'@evil,`);
  expect(csv.body.toString('utf8')).toContain(`,'=cmd|calc {not json\r\n`);
});

it('sends gzip when asked, the same bytes once inflated', async () => {
  const body = { format: 'ndjson', filter: { from, to } };
  const plain = await exportRequest(app.url, { body, authorization: asAll });
  const zipped = await exportRequest(app.url, { body, authorization: asAll, gzip: true });
  expect(zipped.headers['content-encoding']).toBe('gzip');
  expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
  expect(zipped.trailers['x-dpod-audit-export-sha256']).toBe(createHash('sha256').update(plain.body).digest('hex'));
});

it('refuses a bad request with a clear error', async () => {
  const cases: [Parameters<typeof exportRequest>[1], RegExp][] = [
    [{ query: { filter: '{not json' } }, /not JSON/],
    [{ body: { format: 'xlsx' } }, /format/],
    [{ body: { filter: { serviceId: 'x' } } }, /Unrecognized key|serviceId/],
    [{ body: { filter: { from: 'yesterday' } } }, /from/],
    [{ body: { filter: { clientIps: ['not-an-ip'] } } }, /clientIps/],
  ];
  for (const [options, message] of cases) {
    const res = await exportRequest(app.url, { ...options, authorization: asAll });
    expect(res.status).toBe(400);
    expect(res.body.toString('utf8')).toMatch(message);
  }
});

it('dpod-audit export writes the same file from the command line, and refuses a bad filter', async () => {
  const filter = { from, to, serviceIds: [serviceA] };
  const http = await exportRequest(app.url, { body: { format: 'ndjson', filter }, authorization: asAll });
  const cli = await runCli(['export', '--format', 'ndjson', '--filter', JSON.stringify(filter)], {
    DATABASE_URL: app.db.url,
  });
  expect(cli.code).toBe(0);
  expect(cli.stdout).toBe(http.body.toString('utf8'));
  expect(cli.stderr).toContain(`sha256 ${createHash('sha256').update(http.body).digest('hex')}`);
  const bad = await runCli(['export', '--filter', '{"from":"soon"}'], { DATABASE_URL: app.db.url });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/from/);
}, 60_000);

it('exportLink signs a short-lived download that needs no token, keeps the scope, and refuses tampering and expiry', async () => {
  const LINK = `query($f: AuditEventFilter) { exportLink(filter: $f, format: NDJSON) { url manifestUrl expiresAt } }`;
  const filter = { from, to };
  const made = dataOf(
    await gql<{ exportLink: { url: string; manifestUrl: string; expiresAt: string } }>(
      app.url,
      LINK,
      { f: filter },
      {
        authorization: asA,
      },
    ),
  ).exportLink;
  expect(Date.parse(made.expiresAt) - Date.now()).toBeGreaterThan(14 * 60_000);
  const url = new URL(made.url, app.url);
  const followed = await exportRequest(app.url, { query: Object.fromEntries(url.searchParams) });
  expect(followed.status).toBe(200);
  const direct = await exportRequest(app.url, { body: { format: 'ndjson', filter }, authorization: asA });
  expect(followed.body.equals(direct.body)).toBe(true);
  expect(followed.body.toString('utf8')).not.toContain(serviceB);
  // The manifest link needs no token either, and describes the same bytes.
  const manifest = (await (await fetch(new URL(made.manifestUrl, app.url))).json()) as {
    file: { sha256: string; events: number };
  };
  expect(manifest.file.sha256).toBe(createHash('sha256').update(followed.body).digest('hex'));

  // Another scope in the payload, the same signature: refused.
  const payload = JSON.parse(Buffer.from(url.searchParams.get('link')!, 'base64url').toString('utf8')) as {
    services: string[] | null;
  };
  const widened = Buffer.from(JSON.stringify({ ...payload, services: null }), 'utf8').toString('base64url');
  const tampered = await exportRequest(app.url, { query: { link: widened, sig: url.searchParams.get('sig')! } });
  expect(tampered.status).toBe(403);
  expect(tampered.body.toString('utf8')).toMatch(/signature/);
  const expired = new ExportLinkSigner(LINK_SECRET).sign(
    { format: 'csv', filter },
    { subject: 'x', serviceIds: [serviceA] },
    -1,
  );
  const late = await exportRequest(app.url, { query: Object.fromEntries(new URL(expired.path, app.url).searchParams) });
  expect(late.status).toBe(403);
  expect(late.body.toString('utf8')).toMatch(/expired/);
  // A link is checked only on GET; the filter is checked when the link is made.
  const bad = await gql(app.url, LINK, { f: { clientIps: ['nope'] } }, { authorization: asA });
  expect(JSON.stringify(bad.body.errors)).toContain('clientIps');
});
