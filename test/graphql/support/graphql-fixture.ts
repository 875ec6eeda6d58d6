import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { Kysely, PostgresDialect } from 'kysely';
import { loadConfig } from '../../../src/config';
import type { Database } from '../../../src/db/database';
import { createDpodClient } from '../../../src/dpod';
import { createContext, createGraphqlDeps, type Context, type GraphqlDeps } from '../../../src/graphql/context';
import { buildGraphqlSchema } from '../../../src/graphql/schema';
import { unconfirmedAnswersPlugin } from '../../../src/graphql/live/unconfirmed-answers';
import { ingestWindow } from '../../../src/ingest';
import { startSimulator, type RunningSimulator } from '../../../src/simulator';
import { createTestDatabase, type TestDatabase } from '../../support/db';

/** One GraphQL error as the server sends it. */
export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
}

/**
 * A GraphQL response as tests see it. `TData` is the shape the test's query selects: the server does not check it,
 * the test's assertions on whole results do; left `unknown`, a test can only compare the body as a whole.
 */
export interface GqlBody<TData = unknown> {
  data?: TData | null;
  errors?: GqlError[];
}

/** The whole stack of a GraphQL integration test: simulator -> real ingest -> PostgreSQL -> schema over HTTP. */
export interface GraphqlFixture {
  url: string;
  sim: RunningSimulator;
  t: TestDatabase;
  deps: GraphqlDeps;
  /** Start and end of the ingested history. */
  from: Date;
  to: Date;
  /** SQL statements issued through the GraphQL layer since the last reset (counted by a Kysely log hook). */
  sqlCount(): number;
  /** Zeroes the SQL counter and the simulator's request counters. */
  resetCounts(): void;
  /** POSTs a query; `services` confines the caller to those service ids; `triage` grants the scope audit:triage. */
  gql<TData = unknown>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { services?: string[]; triage?: boolean },
  ): Promise<GqlBody<TData>>;
  /** Like {@link gql} for a query that must succeed: fails with the errors if there are any, else returns `data`. */
  gqlData<TData>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { services?: string[]; triage?: boolean },
  ): Promise<TData>;
  stop(): Promise<void>;
}

/** Options of {@link startGraphqlFixture} (simulator tenant size). */
export interface FixtureOptions {
  seed?: number;
  services?: number;
  clientsPerService?: number;
  eventsPerDay?: number;
  days?: number;
  cacheTtlSeconds?: number;
  /** Ingest the simulator's history (default true). */
  ingest?: boolean;
}

/** A fixed clock so every run ingests the same events. */
export const FIXTURE_NOW = new Date('2026-11-20T12:00:00.000Z');

/** Starts the simulator, ingests its history through the real import pipeline and serves the schema over HTTP. */
export async function startGraphqlFixture(options: FixtureOptions = {}): Promise<GraphqlFixture> {
  const t = await createTestDatabase();
  const days = options.days ?? 3;
  const sim = await startSimulator({
    port: 0,
    seed: options.seed ?? 7,
    services: options.services ?? 3,
    clientsPerService: options.clientsPerService ?? 4,
    eventsPerDay: options.eventsPerDay ?? 400,
    days,
    now: () => FIXTURE_NOW,
    exportDelayMs: 0,
  });
  const from = new Date(sim.tenant.historyStartMs());
  const to = FIXTURE_NOW;
  const config = loadConfig({
    DPOD_API_URL: sim.url,
    DPOD_TOKEN_URL: sim.tokenUrl,
    DPOD_CLIENT_ID: sim.clientId,
    DPOD_CLIENT_SECRET: sim.clientSecret,
    DPOD_CACHE_TTL_SECONDS: String(options.cacheTtlSeconds ?? 0),
    LOG_LEVEL: 'silent',
  });
  const dpod = createDpodClient(config, { maxRetries: 0, timeoutMs: 3000 });
  if (options.ingest !== false) {
    // The real ingest: an Audit Query API export of the whole history, polled, downloaded and stored.
    const run = await ingestWindow(
      { db: t.db, pool: t.pool, dpod },
      { from, to },
      { pollIntervalMs: 20, progressBar: false },
    );
    if (run.state !== 'succeeded' || run.inserted === 0)
      throw new Error(`fixture ingest failed: ${run.error ?? `${run.inserted} events`}`);
    sim.resetStats();
  }

  let sql = 0;
  const countingDb = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: t.pool }),
    log: (event) => {
      if (event.level === 'query' || event.level === 'error') sql++;
    },
  });
  const deps = createGraphqlDeps({ db: countingDb, dpod, config });
  const server = new ApolloServer<Context>({
    schema: await buildGraphqlSchema(),
    includeStacktraceInErrorResponses: false,
    // Without tracing, as the server runs (Apollo would otherwise announce inline tracing on every start).
    plugins: [unconfirmedAnswersPlugin(), ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: '127.0.0.1' },
    context: ({ req }) => {
      const header = req.headers['x-test-services'];
      const services = typeof header === 'string' ? header.split(',').filter(Boolean) : null;
      const triage = req.headers['x-test-triage'] === '1';
      return Promise.resolve(
        createContext(deps, { requestId: randomUUID(), auth: { subject: 'test', serviceIds: services, triage } }),
      );
    },
  });

  const gql = async <TData>(query: string, variables = {}, opts: { services?: string[]; triage?: boolean } = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(opts.services ? { 'x-test-services': opts.services.join(',') } : {}),
        ...(opts.triage ? { 'x-test-triage': '1' } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GqlBody<TData>;
  };

  return {
    url,
    sim,
    t,
    deps,
    from,
    to,
    sqlCount: () => sql,
    resetCounts() {
      sql = 0;
      sim.resetStats();
    },
    gql,
    async gqlData<TData>(
      query: string,
      variables?: Record<string, unknown>,
      opts?: { services?: string[]; triage?: boolean },
    ) {
      const body = await gql<TData>(query, variables, opts);
      if (body.errors !== undefined || body.data == null)
        throw new Error(`expected data without errors, got ${JSON.stringify(body)}`);
      return body.data;
    },
    async stop() {
      await server.stop();
      await sim.stop();
      await t.drop();
    },
  };
}
