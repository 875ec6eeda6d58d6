/**
 * GraphQL benchmark: fills a store with N simulator events through the real import pipeline, serves it
 * with the real server (createApp) and measures, each against the equivalent hand-written SQL through `pg`:
 *  (1) the first page of 50 events of one service in a 7-day window;
 *  (2) the same page 90% deep, by cursor;
 *  (3) services -> clients(first 20) -> actions(first 10) -> meta, for all services (plus its SQL and
 *      DPoD request counts at several fan-outs: they must not grow);
 *  (4) aggregate { byAction byStatus timeline(DAY) } over 30 days for the whole tenant;
 *  (5) the headline traversal services(first: 100) x clients(20) x actions(5) + totalCount, with its SQL and DPoD
 *      request counts.
 * Prints p50/p95 of sequential requests (each query alternated with its SQL; and again with all queries in
 * turn, mixed traffic), requests/s at 4 concurrent clients (with the server's CPU time per request), the
 * ratios to SQL, and the fixed cost of any request (`{ __typename }`: HTTP, Apollo, plugins).
 *
 * Then the slim page (id time action status, cursors, pageInfo) side by side with a hand-written HTTP route running
 * the same SQL (bench/route-server.ts) and, with --postgraphile, PostGraphile v5 and v4 with connection-filter on the
 * same table (installed on first use into .data/; needs the npm registry once; v5 runs on Node >= 22: this
 * process's Node, --peer-node <path>, or the Node 24 that .ci/run caches).
 *
 *   node dist/bench/graphql.js [--events 1000000] [--samples 200] [--seconds 5] [--reuse] [--postgraphile]
 *                              [--peer-node <node >= 22>] [--side-by-side-only] [--rounds 4]
 *   (DATABASE_URL, else an embedded PostgreSQL; --reuse keeps/reuses the bench database of that size)
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execute, parse } from 'graphql';
import pg from 'pg';
import { loadConfig } from '../src/config';
import { createDatabase } from '../src/db/connection';
import { migrateToLatest } from '../src/db/migrate';
import { createDpodClient } from '../src/dpod';
import { encodeEventCursor } from '../src/graphql/audit/audit-cursor';
import { createContext, createGraphqlDeps, UNRESTRICTED } from '../src/graphql/context';
import { buildGraphqlSchema } from '../src/graphql/schema';
import { importFiles } from '../src/ingest';
import { startSimulator, writeExportFile } from '../src/simulator';
import {
  countOf,
  graphqlThroughput,
  interleavedLatency,
  ms,
  postGraphql,
  sequentialLatency,
  sqlThroughput,
  startServerProcess,
  type Latency,
} from './graphql-support';
import { numberArg } from './bench-args';
import { benchServer } from './bench-server';
import { sideBySide } from './side-by-side';

const log = (line: string) => process.stdout.write(`${line}\n`);
const NOW = new Date('2026-11-20T00:00:00.000Z');
const DAYS = 35;
const SERVICES = 4;
const CLIENTS = 8;

const EVENT_COLUMNS = `id, time, source, partition_id, service_id, client_id, tenant_id, trace_id, action, status,
  host(client_ip) as client_ip, hsm_id, object_ids, partition_serial, role, meta_malformed, coalesce(meta_raw, meta::text) as meta_raw`;

/** What the page query selects that the sanity checks read. */
interface EventPage {
  auditEvents: { edges: { node: { time: string } }[] };
}

async function main(): Promise<void> {
  const events = numberArg('events', 1_000_000);
  const samples = numberArg('samples', 200);
  const seconds = numberArg('seconds', 5);
  const reuse = process.argv.includes('--reuse');
  const connections = 4;

  const { adminUrl, embedded } = await benchServer(log);
  const dbName = `dpod_bench_graphql_${events}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = (await admin.query('select 1 from pg_database where datname = $1', [dbName])).rowCount! > 0;
  if (exists && !reuse) await admin.query(`drop database ${pg.escapeIdentifier(dbName)} with (force)`);
  if (!exists || !reuse) await admin.query(`create database ${pg.escapeIdentifier(dbName)}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const dbUrl = url.toString();

  const eventsPerDay = Math.ceil(events / (SERVICES * DAYS));
  const sim = await startSimulator({
    port: 0,
    seed: 42,
    services: SERVICES,
    clientsPerService: CLIENTS,
    eventsPerDay,
    days: DAYS,
    now: () => NOW,
    exportDelayMs: 0,
  });
  const store = createDatabase({ url: dbUrl, poolSize: 4 });
  await migrateToLatest(store.db);
  let stored = await countOf(store.pool, 'select count(*) as n from audit_events');
  if (stored === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-graphql-'));
    try {
      const t0 = Date.now();
      const paths: string[] = [];
      const start = NOW.getTime() - DAYS * 86_400_000;
      for (let from = start, i = 0; from < NOW.getTime(); from += 7 * 86_400_000, i++) {
        const path = join(dir, `week-${i}.jsonl.gz`);
        await writeExportFile(
          sim.tenant,
          new Date(from),
          new Date(Math.min(NOW.getTime(), from + 7 * 86_400_000)),
          path,
        );
        paths.push(path);
      }
      log(`generated ${paths.length} export files in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const t1 = Date.now();
      await importFiles({ db: store.db, pool: store.pool }, paths, { progressBar: false });
      await store.pool.query('vacuum analyze audit_events');
      await store.pool.query('vacuum analyze audit_rollups_hourly');
      await store.pool.query('vacuum analyze audit_rollups_daily');
      stored = await countOf(store.pool, 'select count(*) as n from audit_events');
      log(`ingested ${stored} events in ${((Date.now() - t1) / 1000).toFixed(1)} s (real import pipeline)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    log(`reusing ${stored} stored events`);
  }
  const rollupRows = await countOf(store.pool, 'select count(*) as n from audit_rollups_hourly');

  // The real server (`dpod-audit serve`) in its own process, so the measuring client does not share its event loop.
  const serverEnv = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'error',
    AUTH_MODE: 'none',
    DATABASE_URL: dbUrl,
    DPOD_API_URL: sim.url,
    DPOD_TOKEN_URL: sim.tokenUrl,
    DPOD_CLIENT_ID: sim.clientId,
    DPOD_CLIENT_SECRET: sim.clientSecret,
    MAX_QUERY_COST: '100000000',
    MAX_QUERY_DEPTH: '20',
  };
  const server = await startServerProcess(join(__dirname, '..', 'src', 'cli.js'), serverEnv);
  const endpoint = server.endpoint;
  const config = loadConfig({ ...process.env, ...serverEnv, DPOD_CACHE_TTL_SECONDS: '0' });
  const sqlPool = new pg.Pool({ connectionString: dbUrl, max: connections });

  const service = sim.tenant.listedServices().find((s) => s.hasAuditData)!;
  const windowTo = NOW;
  const windowFrom = new Date(NOW.getTime() - 7 * 86_400_000);
  const inWindow = await countOf(
    sqlPool,
    'select count(*) as n from audit_events where service_id = $1 and time >= $2 and time < $3',
    [service.id, windowFrom, windowTo],
  );
  const deepRow = (
    await sqlPool.query<{ id: string; us: string; time: Date }>(
      `select id, (extract(epoch from time) * 1000000)::bigint::text as us, time from audit_events
        where service_id = $1 and time >= $2 and time < $3 order by time desc, id desc offset $4 limit 1`,
      [service.id, windowFrom, windowTo, Math.floor(inWindow * 0.9)],
    )
  ).rows[0];
  if (!deepRow) throw new Error('no event 90% deep into the window');
  const deepCursor = encodeEventCursor({ timeUs: deepRow.us, id: deepRow.id });

  const pageQuery = `query($s: ID!, $from: DateTime, $to: DateTime, $after: String) {
    auditEvents(filter: { serviceIds: [$s], from: $from, to: $to }, first: 50, after: $after) {
      edges { cursor node { id time source partitionId tenantId traceId action status succeeded meta { clientIp hsmId objectIds partitionSerial role malformed raw } } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }`;
  const pageBody = (after: string | null) =>
    JSON.stringify({
      query: pageQuery,
      variables: { s: service.id, from: windowFrom.toISOString(), to: windowTo.toISOString(), after },
    });
  const pageSql = `select ${EVENT_COLUMNS} from audit_events where service_id = $1 and time >= $2 and time < $3 order by time desc, id desc limit 51`;
  const deepSql = `select ${EVENT_COLUMNS} from audit_events where service_id = $1 and time >= $2 and time < $3 and (time, id) < ($4, $5) order by time desc, id desc limit 51`;
  const pageParams = [service.id, windowFrom, windowTo];
  const deepParams = [...pageParams, deepRow.time, deepRow.id];

  const deepQuery = (clients: number, actions: number) =>
    `{ services { nodes { id name clients(first: ${clients}) { nodes { id name bound actions(first: ${actions}) { nodes { time action status meta { clientIp hsmId objectIds role } } } } } } } }`;
  const listedIds = sim.tenant.listedServices().map((s) => s.id);
  const clientIds = sim.tenant.listedServices().flatMap((s) =>
    s.clients
      .filter((c) => c.bound)
      .slice(0, 20)
      .map((c) => c.id),
  );
  const traversalSql = `select c.id as client, e.* from unnest($1::text[]) as c(id)
    cross join lateral (select time, action, status, host(client_ip) as client_ip, hsm_id, object_ids, role from audit_events
      where client_id = c.id order by time desc, id desc limit 11) e`;

  const aggFrom = new Date(NOW.getTime() - 30 * 86_400_000);
  const aggQuery = JSON.stringify({
    query: `query($from: DateTime, $to: DateTime) { auditEvents(filter: { from: $from, to: $to }) { aggregate { byAction { key count } byStatus { key count } timeline(interval: DAY) { start count failed } } } }`,
    variables: { from: aggFrom.toISOString(), to: NOW.toISOString() },
  });
  // The same counts by hand from the tenant-wide daily rollups (what a DBA would write on this schema).
  const aggSqlRollup = `select grouping(action, status, day) as g, action, status, day, sum(count) as c,
      sum(count) filter (where status <> 'LUNA_RET_OK') as f
    from audit_rollups_daily_tenant where day >= $1 and day < $2 group by grouping sets ((action), (status), (day))`;
  const aggSqlEvents = `select 'a' as k, action as key, count(*) as c from audit_events where time >= $1 and time < $2 group by action
    union all select 's', status, count(*) from audit_events where time >= $1 and time < $2 group by status
    union all select 'd', date_trunc('day', time, 'UTC')::text, count(*) from audit_events where time >= $1 and time < $2 group by 2`;
  const aggParams = [aggFrom, NOW];

  // Sanity: GraphQL and SQL return the same rows.
  const gPage = await postGraphql<EventPage>(endpoint, pageBody(null));
  const sPage = await sqlPool.query(pageSql, pageParams);
  if (gPage.auditEvents.edges.length !== 50 || sPage.rows.length !== 51) throw new Error('page sizes differ');
  const gDeep = await postGraphql<EventPage>(endpoint, pageBody(deepCursor));
  const sDeep = await sqlPool.query<{ time: Date }>(deepSql, deepParams);
  const [gFirst, sFirst] = [gDeep.auditEvents.edges[0]?.node.time, sDeep.rows[0]?.time];
  if (gFirst === undefined || sFirst === undefined || new Date(gFirst).getTime() !== sFirst.getTime())
    throw new Error('deep pages differ');

  log('');
  log(
    `GraphQL benchmark — ${stored.toLocaleString('en')} events, ${rollupRows.toLocaleString('en')} rollup rows, ${SERVICES} Luna services x ${CLIENTS} clients, ${DAYS} days`,
  );
  log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), shared; PostgreSQL ${(await sqlPool.query<{ server_version: string }>('show server_version')).rows[0]?.server_version}`,
  );
  log(
    `sequential samples: ${samples}; throughput: ${connections} concurrent clients for ${seconds} s; GraphQL over HTTP to the real server (dpod-audit serve, AUTH_MODE=none) in a child process`,
  );
  log('');

  const finish = async (): Promise<void> => {
    await sqlPool.end();
    await server.stop();
    await store.destroy();
    await sim.stop();
    if (!reuse) {
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${pg.escapeIdentifier(dbName)} with (force)`);
      await cleanup.end();
    }
    await embedded?.stop();
  };
  // Side by side (issue 16): the slim page from this server, the same server with its fast lane off (every request
  // through Apollo's pipeline), the hand-written route, PostGraphile v5 and v4 on the same table, alternated request
  // by request; then req/s at 4 clients, each in turn, two rounds.
  const apolloOnly = await startServerProcess(join(__dirname, '..', 'src', 'cli.js'), {
    ...serverEnv,
    GRAPHQL_FAST_LANE: 'false',
  });
  await sideBySide({
    endpoint,
    apolloOnlyEndpoint: apolloOnly.endpoint,
    dbUrl,
    sqlPool,
    variables: { s: service.id, from: windowFrom.toISOString(), to: windowTo.toISOString(), after: null },
    samples,
    seconds,
    connections,
    rounds: numberArg('rounds', 4),
    peers: process.argv.includes('--postgraphile'),
  });
  await apolloOnly.stop();
  if (process.argv.includes('--side-by-side-only')) {
    await finish();
    return;
  }

  interface Row {
    name: string;
    g: Latency;
    s: Latency;
    gRps: number;
    /** Server CPU per GraphQL request during the throughput run, ms. */
    gCpu: number;
    sRps: number;
    /** p50 ratio to SQL when all queries run in turn (mixed traffic). */
    mixedRatio: number;
  }
  const cases: { name: string; body: string; sql: string; params: unknown[] }[] = [
    { name: '(1) first page of 50, one service, 7 days', body: pageBody(null), sql: pageSql, params: pageParams },
    {
      name: `(2) same page 90% deep (row ${Math.floor(inWindow * 0.9)} of ${inWindow})`,
      body: pageBody(deepCursor),
      sql: deepSql,
      params: deepParams,
    },
    {
      name: '(3) services -> clients(20) -> actions(10) -> meta',
      body: JSON.stringify({ query: deepQuery(20, 10) }),
      sql: traversalSql,
      params: [clientIds],
    },
    {
      name: '(4) aggregate byAction+byStatus+timeline(DAY), 30 days',
      body: aggQuery,
      sql: aggSqlRollup,
      params: aggParams,
    },
  ];
  // Latency of each query against its SQL: the two alternated, sample by sample, so background load on this
  // shared machine hits both alike.
  const latencies: Latency[] = [];
  for (const c of cases)
    latencies.push(
      ...(await interleavedLatency(
        [() => postGraphql(endpoint, c.body), () => sqlPool.query(c.sql, c.params)],
        samples,
      )),
    );
  // Mixed traffic: every query and every SQL statement in turn, so each GraphQL sample follows the other three
  // queries' work in the server (their garbage, their cold caches) and ~30 ms of the server idling.
  const mixed = await interleavedLatency(
    cases.flatMap((c) => [() => postGraphql(endpoint, c.body), () => sqlPool.query(c.sql, c.params)]),
    samples,
  );
  const rows: Row[] = [];
  for (const [i, c] of cases.entries()) {
    const { rps: gRps, cpuMsPerRequest: gCpu } = await graphqlThroughput(endpoint, c.body, connections, seconds, () =>
      server.cpuMs(),
    );
    const sRps = await sqlThroughput(sqlPool, c.sql, c.params, connections, seconds);
    const g = latencies[2 * i]!;
    const s = latencies[2 * i + 1]!;
    const mixedRatio = mixed[2 * i]!.p50 / mixed[2 * i + 1]!.p50;
    rows.push({ name: c.name, g, s, gRps, gCpu, sRps, mixedRatio });
    log(
      `${c.name}: GraphQL p50 ${ms(g.p50)} p95 ${ms(g.p95)} ${gRps.toFixed(0)} req/s (server CPU ${ms(gCpu)}/request) | SQL p50 ${ms(s.p50)} p95 ${ms(s.p95)} ${sRps.toFixed(0)} q/s | p50 ratio ${(g.p50 / s.p50).toFixed(2)}x` +
        ` | mixed traffic: GraphQL p50 ${ms(mixed[2 * i]!.p50)}, SQL ${ms(mixed[2 * i + 1]!.p50)}, ${mixedRatio.toFixed(2)}x`,
    );
  }
  // The fixed cost of a request, whatever it asks: HTTP, Apollo's pipeline, limits, metrics, context.
  const floorBody = JSON.stringify({ query: '{ __typename }' });
  const floor = await sequentialLatency(samples, () => postGraphql(endpoint, floorBody));
  const floorRun = await graphqlThroughput(endpoint, floorBody, connections, seconds, () => server.cpuMs());
  log(
    `(0) { __typename } (per-request floor): p50 ${ms(floor.p50)} p95 ${ms(floor.p95)} ${floorRun.rps.toFixed(0)} req/s, server CPU ${ms(floorRun.cpuMsPerRequest)}/request`,
  );
  const naive = await sequentialLatency(5, () => sqlPool.query(aggSqlEvents, aggParams), 1);
  log(`    (4) for reference, the same GROUP BY over the raw events: p50 ${ms(naive.p50)} p95 ${ms(naive.p95)}`);
  const dailyRows = await countOf(
    sqlPool,
    'select count(*) as n from audit_rollups_daily_tenant where day >= $1 and day < $2',
    aggParams,
  );
  log(
    `    (4) reads ${dailyRows.toLocaleString('en')} tenant-wide daily rollup rows for 30 days (grows with days x actions x statuses, not with events)`,
  );

  // (3) bounds: count SQL statements and DPoD requests at growing fan-out, in-process on the same schema.
  const schema = await buildGraphqlSchema();
  const dpod = createDpodClient(config);
  const deps = createGraphqlDeps({ db: store.db, dpod, config });
  log('');
  log('(3) SQL statements and DPoD requests per traversal (cold TTL cache), by fan-out:');
  for (const [clients, actions] of [
    [1, 1],
    [5, 5],
    [20, 10],
    [50, 50],
  ] as const) {
    deps.liveCache.clear();
    sim.resetStats();
    const ctx = createContext(deps, { requestId: randomUUID(), auth: UNRESTRICTED });
    const result = await execute({ schema, document: parse(deepQuery(clients, actions)), contextValue: ctx });
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    const stats = sim.stats();
    const dpodCalls = Object.entries(stats)
      .filter(([k]) => !k.includes('oauth'))
      .reduce((a, [, v]) => a + v, 0);
    const data = result.data as { services: { nodes: { clients: { nodes: unknown[] } }[] } };
    const nClients = data.services.nodes.reduce((a, s) => a + s.clients.nodes.length, 0);
    log(
      `    clients(first: ${clients}) actions(first: ${actions}): ${nClients} clients -> ${ctx.sqlQueries} SQL statement(s), ${dpodCalls} DPoD request(s) for ${listedIds.length} services (+${stats['POST /oauth/token'] ?? 0} token)`,
    );
  }

  // The product's headline traversal (issue 16): every service, 20 clients each, 5 actions each with meta, and each
  // service's event count: its HTTP latency, and its SQL statements and DPoD requests, which must not grow with it.
  const headline = `{ services(first: 100) { totalCount nodes { id name status
    clients(first: 20) { totalCount nodes { id name bound
      actions(first: 5) { totalCount nodes { time action status meta { clientIp hsmId objectIds role } } } } }
    auditEvents(first: 1) { totalCount } } } }`;
  const headlineBody = JSON.stringify({ query: headline });
  const headlineLatency = await sequentialLatency(samples, () => postGraphql(endpoint, headlineBody));
  deps.liveCache.clear();
  sim.resetStats();
  const headlineCtx = createContext(deps, { requestId: randomUUID(), auth: UNRESTRICTED });
  const headlineResult = await execute({ schema, document: parse(headline), contextValue: headlineCtx });
  if (headlineResult.errors) throw new Error(JSON.stringify(headlineResult.errors));
  const headlineDpod = Object.entries(sim.stats())
    .filter(([k]) => !k.includes('oauth'))
    .reduce((a, [, v]) => a + v, 0);
  log(
    `(5) headline traversal services(first: 100) x clients(first: 20) x actions(first: 5) + auditEvents { totalCount }: ` +
      `p50 ${ms(headlineLatency.p50)} p95 ${ms(headlineLatency.p95)} over HTTP; ${headlineCtx.sqlQueries} SQL statement(s), ` +
      `${headlineDpod} DPoD request(s) (cold cache), under the default cost limit (12,200 of 50,000 nodes)`,
  );

  // The GraphQL layer alone (parse once, execute in-process): separates it from HTTP and server plugins.
  log('');
  log('In-process execute (no HTTP), p50/p95:');
  const inProcess = async (name: string, body: string, sqlP50: number) => {
    const { query, variables } = JSON.parse(body) as { query: string; variables?: Record<string, unknown> };
    const document = parse(query);
    const l = await sequentialLatency(samples, async () => {
      const r = await execute({
        schema,
        document,
        variableValues: variables,
        contextValue: createContext(deps, { requestId: 'bench', auth: UNRESTRICTED }),
      });
      if (r.errors) throw new Error(JSON.stringify(r.errors));
    });
    log(`    ${name}: ${ms(l.p50)} / ${ms(l.p95)} (${(l.p50 / sqlP50).toFixed(2)}x SQL p50)`);
  };
  await inProcess('(1)', pageBody(null), rows[0]!.s.p50);
  await inProcess('(2)', pageBody(deepCursor), rows[1]!.s.p50);
  await inProcess('(4)', aggQuery, rows[3]!.s.p50);

  log('');
  log(
    '| query | GraphQL p50 | GraphQL p95 | GraphQL req/s | server CPU/request | SQL p50 | SQL p95 | SQL q/s | p50 ratio | p50 ratio, mixed traffic |',
  );
  log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    log(
      `| ${r.name} | ${ms(r.g.p50)} | ${ms(r.g.p95)} | ${r.gRps.toFixed(0)} | ${ms(r.gCpu)} | ${ms(r.s.p50)} | ${ms(r.s.p95)} | ${r.sRps.toFixed(0)} | ${(r.g.p50 / r.s.p50).toFixed(2)}x | ${r.mixedRatio.toFixed(2)}x |`,
    );
  }
  log(`(2)/(1) GraphQL p50: ${(rows[1]!.g.p50 / rows[0]!.g.p50).toFixed(2)}x`);

  await finish();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
