import { createHash } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createApp, type App } from '../../src/server/app';
import { GraphQLError, GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { createGraphqlServer } from '../../src/server/graphql-server';
import { startSeededApp, type SeededApp } from './support/seeded-app';

/**
 * The fast lane (src/server/http/fast-lane.ts) against Apollo Server's own pipeline: one store, two servers, one with
 * GRAPHQL_FAST_LANE=false. Every request is sent three times (the compiled executor compiles an operation on its
 * second run, and only then can the fast lane take it); the third answers must match byte for byte.
 */
let on: SeededApp;
let off: App;
let offUrl: string;

beforeAll(async () => {
  on = await startSeededApp();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    DB_POOL_SIZE: '3',
    GRAPHQL_FAST_LANE: 'false',
  });
  off = createApp(config, {
    logger: createLogger('silent'),
    databaseUrl: on.db.url,
    dpod: {
      apiUrl: on.sim.url,
      tokenUrl: on.sim.tokenUrl,
      clientId: on.sim.clientId,
      clientSecret: on.sim.clientSecret,
    },
    migrate: false,
  });
  offUrl = await off.start();
}, 120_000);

afterAll(async () => {
  await off?.stop();
  await on?.stop();
});

interface Answer {
  data?: {
    auditEvents: {
      edges: unknown[];
      nodes: { source: string; meta: { raw: string | null } }[];
      pageInfo: { endCursor: string };
    };
    counted: number;
  } | null;
  errors: { message: string; extensions: { code: string } }[];
}

/** The parsed body of an answer. */
const answer = (raw: { body: string }): Answer => JSON.parse(raw.body) as Answer;

interface Raw {
  status: number;
  contentType: string | null;
  body: string;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Raw> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'fast-lane-test', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

/** The fast lane's outcome counts, from the server's own /metrics. */
async function laneCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = { answered: 0, apollo: 0, held: 0 };
  for (const m of text.matchAll(/^graphql_fast_lane_requests_total\{outcome="(\w+)"\} (\d+)/gm))
    counts[m[1]!] = Number(m[2]);
  return counts;
}

/** Sends `body` three times to both servers; returns the third answers and what the fast lane did meanwhile. */
async function third(body: unknown, headers: Record<string, string> = {}) {
  const before = await laneCounts(on.url);
  let fast!: Raw;
  let apollo!: Raw;
  for (let i = 0; i < 3; i++) {
    fast = await post(on.url, body, headers);
    apollo = await post(offUrl, body, headers);
  }
  const after = await laneCounts(on.url);
  const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]));
  return { fast, apollo, delta };
}

const PAGE = `query Page($s: [ID!], $first: Int, $after: String) {
  auditEvents(filter: { serviceIds: $s }, first: $first, after: $after) {
    totalCount
    edges { cursor node { id time action status succeeded service { id } client { id } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

const FULL = `query Full { auditEvents(first: 20) { nodes { ...Ev } } }
fragment Ev on AuditEvent { id source partitionId tenantId traceId meta { clientIp hsmId objectIds partitionSerial role malformed raw } }`;

describe('the fast lane', () => {
  it('answers a known page exactly as Apollo does, and takes it from its third request', async () => {
    const { fast, apollo, delta } = await third({ query: PAGE, variables: { first: 25 } });
    expect(fast.status).toBe(200);
    expect(fast.contentType).toBe('application/json; charset=utf-8');
    expect(fast).toEqual(apollo);
    expect(answer(fast).data!.auditEvents.edges).toHaveLength(25);
    // The first two went through Apollo (the second compiled it), the third took the fast lane.
    expect(delta).toEqual({ answered: 1, apollo: 2, held: 0 });
  });

  it('answers the next page, with new variables, from the same prepared query', async () => {
    const first = answer(await post(offUrl, { query: PAGE, variables: { first: 10 } }));
    const variables = { first: 10, after: first.data!.auditEvents.pageInfo.endCursor };
    const { fast, apollo, delta } = await third({ query: PAGE, variables });
    expect(fast).toEqual(apollo);
    expect(delta.answered).toBe(3);
  });

  it('reads every column when the query selects them through a fragment (no lean page)', async () => {
    const { fast, apollo } = await third({ query: FULL });
    expect(fast).toEqual(apollo);
    const nodes = answer(fast).data!.auditEvents.nodes;
    expect(nodes).toHaveLength(20);
    for (const n of nodes) {
      expect(n.source).toEqual(expect.any(String));
      expect(n.meta.raw).toEqual(expect.any(String));
    }
  });

  it('leaves a request over a limit to Apollo, which refuses it as before', async () => {
    await third({ query: PAGE, variables: { first: 5 } });
    const { fast, apollo, delta } = await third({ query: PAGE, variables: { first: 100_000 } });
    expect(fast).toEqual(apollo);
    expect(answer(fast).errors[0]!.extensions.code).toBe('PAGE_SIZE_EXCEEDED');
    expect(delta).toEqual({ answered: 0, apollo: 3, held: 0 });
  });

  it('leaves invalid variables to Apollo (BAD_USER_INPUT, worded by graphql-js)', async () => {
    const { fast, apollo, delta } = await third({ query: PAGE, variables: { first: 'ten' } });
    expect(fast).toEqual(apollo);
    expect(answer(fast).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect(delta.answered).toBe(0);
  });

  it('hands a result with errors to Apollo, which masks and formats it as always', async () => {
    await third({ query: PAGE, variables: { first: 3 } });
    const { fast, apollo, delta } = await third({ query: PAGE, variables: { first: 3, after: 'not-a-cursor' } });
    expect(fast).toEqual(apollo);
    expect(answer(fast).errors[0]!.extensions.code).toBe('INVALID_CURSOR');
    expect(delta).toEqual({ answered: 0, apollo: 0, held: 3 });
  });

  it('negotiates the response type as Apollo does', async () => {
    await third({ query: PAGE, variables: { first: 2 } });
    const graphqlResponse = await third(
      { query: PAGE, variables: { first: 2 } },
      { accept: 'application/graphql-response+json, application/json;q=0.9' },
    );
    expect(graphqlResponse.fast.contentType).toBe('application/graphql-response+json; charset=utf-8');
    expect(graphqlResponse.fast).toEqual(graphqlResponse.apollo);
    expect(graphqlResponse.delta.answered).toBe(3);
    const refused = await third({ query: PAGE, variables: { first: 2 } }, { accept: 'text/csv' });
    expect(refused.fast.status).toBe(406);
    expect(refused.fast).toEqual(refused.apollo);
    expect(refused.delta.answered).toBe(0);
  });

  it('leaves another operation of the same document, persisted queries and batches to Apollo', async () => {
    const doc = `query A { auditEvents(first: 1) { totalCount } } query B { auditEvents(first: 2) { totalCount } }`;
    const a = await third({ query: doc, operationName: 'A' });
    expect(a.fast).toEqual(a.apollo);
    expect(a.delta.answered).toBe(1);
    // Only A was prepared: B's first two requests go through Apollo.
    const b = await third({ query: doc, operationName: 'B' });
    expect(b.fast).toEqual(b.apollo);
    expect(b.delta).toEqual({ answered: 1, apollo: 2, held: 0 });
    const sha256Hash = createHash('sha256').update(doc).digest('hex');
    const apq = await third({
      query: doc,
      operationName: 'A',
      extensions: { persistedQuery: { version: 1, sha256Hash } },
    });
    expect(apq.fast).toEqual(apq.apollo);
    expect(apq.delta.answered).toBe(0);
    const batch = await third([{ query: PAGE, variables: { first: 25 } }]);
    expect(batch.fast).toEqual(batch.apollo);
    expect(batch.delta.answered).toBe(0);
  });

  it("leaves a name that is not the operation's own to Apollo, the empty one included", async () => {
    await third({ query: PAGE, variables: { first: 6 } });
    for (const operationName of ['', 'Other']) {
      const { fast, apollo, delta } = await third({ query: PAGE, variables: { first: 6 }, operationName });
      expect(fast).toEqual(apollo);
      // Refused as the client's mistake (graphql-js's words), not masked as an internal error.
      expect(fast.status).toBe(400);
      expect(answer(fast).errors[0]).toEqual({
        message: `Unknown operation named "${operationName}".`,
        extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
      });
      expect(delta.answered).toBe(0);
    }
    // A persisted query whose hash is not its text's: Apollo's refusal has no code of its own.
    const apq = await post(on.url, { query: PAGE, extensions: { persistedQuery: { version: 1, sha256Hash: 'ab' } } });
    expect(apq.status).toBe(400);
    expect(answer(apq).errors[0]).toEqual({
      message: 'provided sha does not match query',
      extensions: { code: 'BAD_REQUEST' },
    });
  });

  it("reads every column where a fragment's connection merges with a selection that needs them", async () => {
    const service = (
      answer(await post(offUrl, { query: '{ auditEvents(first: 1) { nodes { service { id } } } }' }))
        .data as unknown as { auditEvents: { nodes: { service: { id: string } }[] } }
    ).auditEvents.nodes[0]!.service.id;
    const query = `query ($s: ID!) {
      a: service(id: $s) { ...F }
      b: service(id: $s) { ...F auditEvents(first: 2) { nodes { source meta { raw } } } }
    }
    fragment F on Service { auditEvents(first: 2) { nodes { id } } }`;
    const { fast, apollo } = await third({ query, variables: { s: service } });
    expect(fast).toEqual(apollo);
    const parsed = JSON.parse(fast.body) as {
      errors?: unknown;
      data: { b: { auditEvents: { nodes: { id: string; source: string; meta: { raw: string } }[] } } };
    };
    expect(parsed.errors).toBeUndefined();
    for (const n of parsed.data.b.auditEvents.nodes) {
      expect(n.id).toEqual(expect.any(String));
      expect(n.source).toEqual(expect.any(String));
      expect(n.meta.raw).toEqual(expect.any(String));
    }
  });

  it('records the operation under the same metric labels as Apollo', async () => {
    const count = async (url: string) =>
      Number(
        /^graphql_operation_duration_seconds_count\{operation="Page",type="query"\} (\d+)/m.exec(
          await (await fetch(`${url}/metrics`)).text(),
        )?.[1] ?? 0,
      );
    const [onBefore, offBefore] = [await count(on.url), await count(offUrl)];
    const { delta } = await third({ query: PAGE, variables: { first: 4 } });
    expect(delta.answered).toBe(3);
    expect((await count(on.url)) - onBefore).toBe(3);
    expect((await count(offUrl)) - offBefore).toBe(3);
  });
});

describe('a result with errors on the fast lane', () => {
  it('is answered by Apollo from the result already computed: each resolver runs once per request', async () => {
    let runs = 0;
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          counted: { type: new GraphQLNonNull(GraphQLInt), resolve: () => ++runs },
          secret: {
            type: GraphQLString,
            resolve: () => {
              throw new Error('select * from pg_authid');
            },
          },
          slow: {
            type: GraphQLString,
            resolve: async () => {
              await new Promise((resolve) => setTimeout(resolve, 200));
              throw new GraphQLError('too slow', { extensions: { code: 'FORBIDDEN' } });
            },
          },
          refused: {
            type: GraphQLString,
            resolve: () => {
              throw new GraphQLError('not here', { extensions: { code: 'FORBIDDEN' } });
            },
          },
        },
      }),
    });
    const server = createGraphqlServer({
      config: loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', AUTH_MODE: 'none' }),
      schema,
      createContext: ({ requestId }) => ({ requestId }),
      db: on.db.db,
      logger: createLogger('silent'),
    });
    const url = await server.start(0, '127.0.0.1');
    try {
      const body = { query: '{ counted secret refused }' };
      const answers: { counted: number; errors: { message: string; extensions: { code: string } }[] }[] = [];
      for (let i = 0; i < 4; i++) {
        const res = answer(await post(url, body));
        answers.push({ counted: res.data!.counted, errors: res.errors });
      }
      // One run per request, the two through the fast lane included (a second run would count twice).
      expect(answers.map((a) => a.counted)).toEqual([1, 2, 3, 4]);
      expect(runs).toBe(4);
      for (const a of answers)
        expect(a.errors.map((e) => [e.extensions.code, e.message])).toEqual([
          ['INTERNAL_SERVER_ERROR', expect.stringMatching(/^Internal server error/)],
          ['FORBIDDEN', 'not here'],
        ]);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^graphql_fast_lane_requests_total\{outcome="held"\} 2$/m);
      expect(metrics).toMatch(/^graphql_errors_total\{code="FORBIDDEN"\} 4$/m);
      // A request handed to Apollo is timed from the fast lane's start: three runs of 200 ms each, the third held.
      for (let i = 0; i < 3; i++) await post(url, { query: 'query Slow { slow }' });
      const after = await (await fetch(`${url}/metrics`)).text();
      expect(after).toMatch(/^graphql_fast_lane_requests_total\{outcome="held"\} 3$/m);
      const sum = Number(
        /^graphql_operation_duration_seconds_sum\{operation="Slow",type="query"\} ([\d.e-]+)/m.exec(after)?.[1],
      );
      expect(sum).toBeGreaterThanOrEqual(0.6);
    } finally {
      await server.stop();
    }
  });
});
