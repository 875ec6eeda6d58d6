import { connect } from 'node:net';
import { GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { SignJWT, base64url } from 'jose';
import { loadConfig } from '../../src/config';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';
import { createLogger } from '../../src/logger';
import { createGraphqlServer, type GraphqlServer } from '../../src/server/graphql-server';
import { MAX_OPERATION_LABELS } from '../../src/server/apollo/operation-metrics.plugin';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { errorsOf, gql, rawPost } from './support/http';
import { placeholderSchema, type PlaceholderContext } from './support/placeholder-schema';
import { containing } from '../support/matchers';

const SECRET = 'a-test-secret-that-is-at-least-32-characters-long';
const ISSUER = 'https://idp.test/';
const AUDIENCE = 'dpod-audit-gateway';

let db: TestDatabase;
let server: GraphqlServer;
let url: string;
let noAuthServer: GraphqlServer;
let noAuthUrl: string;
let shortTimeoutDb: DatabaseHandle;

function start(env: Record<string, string>): GraphqlServer {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
  return createGraphqlServer<PlaceholderContext>({
    config,
    schema: placeholderSchema,
    createContext: ({ requestId, auth }) => ({ requestId, auth, sql: shortTimeoutDb.pool }),
    db: db.db,
    logger: createLogger('silent'),
  });
}

async function token(
  claims: Record<string, unknown>,
  options: { secret?: string; iss?: string; aud?: string; exp?: string | number } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setSubject('analyst-1')
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 3 });
  shortTimeoutDb = createDatabase({ url: db.url, poolSize: 1, statementTimeoutMs: 200 });
  server = start({
    AUTH_MODE: 'jwt',
    JWT_SECRET: SECRET,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    MAX_QUERY_DEPTH: '6',
    MAX_ALIASES: '5',
    MAX_ROOT_FIELDS: '4',
    MAX_PAGE_SIZE: '100',
    MAX_QUERY_COST: '1000',
    BODY_LIMIT_BYTES: '100000',
    REQUEST_TIMEOUT_MS: '1000',
    CORS_ORIGINS: 'https://portal.example.com',
  });
  url = await server.start(0, '127.0.0.1');
  noAuthServer = start({ INTROSPECTION: 'false', STATEMENT_TIMEOUT_MS: '200' });
  noAuthUrl = await noAuthServer.start(0, '127.0.0.1');
});

afterAll(async () => {
  await server?.stop();
  await noAuthServer?.stop();
  await shortTimeoutDb?.destroy();
  await db?.drop();
});

describe('authentication (AUTH_MODE=jwt)', () => {
  it('answers a query with a valid token and passes its scope to the context', async () => {
    const t = await token({ scope: 'audit:read', services: ['svc-a'] });
    const res = await gql(url, '{ whoami }', {}, { authorization: `Bearer ${t}` });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    // The token's expiry comes along: a subscription opened with it ends then.
    const scope = JSON.parse((res.body.data as { whoami: string }).whoami) as { expiresAt: number };
    expect(scope).toEqual({
      subject: 'analyst-1',
      serviceIds: ['svc-a'],
      triage: false,
      expiresAt: expect.any(Number) as unknown,
    });
    expect(scope.expiresAt).toBeGreaterThan(Date.now());
  });

  it('gives an unrestricted scope to a token without a services claim', async () => {
    const t = await token({ scope: 'openid audit:read' });
    const res = await gql<{ whoami: string }>(url, '{ whoami }', {}, { authorization: `Bearer ${t}` });
    expect(JSON.parse(res.body.data?.whoami ?? 'null')).toEqual({
      subject: 'analyst-1',
      serviceIds: null,
      triage: false,
      expiresAt: expect.any(Number) as unknown,
    });
  });

  const refusals: [string, () => Promise<string | undefined>, RegExp][] = [
    ['a missing token', () => Promise.resolve(undefined), /Authentication required/],
    ['an expired token', () => token({ scope: 'audit:read' }, { exp: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ['a wrong audience', () => token({ scope: 'audit:read' }, { aud: 'someone-else' }), /aud/],
    ['a wrong issuer', () => token({ scope: 'audit:read' }, { iss: 'https://evil.test/' }), /iss/],
    [
      'a wrong signature',
      () => token({ scope: 'audit:read' }, { secret: 'another-secret-that-is-at-least-32-chars!!' }),
      /signature/,
    ],
    [
      'an alg "none" token',
      () => {
        const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
        const now = Math.floor(Date.now() / 1000);
        const payload = base64url.encode(
          JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'x', exp: now + 300, scope: 'audit:read' }),
        );
        return Promise.resolve(`${header}.${payload}.`);
      },
      /Invalid token/,
    ],
    ['a token with a non-array services claim', () => token({ scope: 'audit:read', services: 'svc-a' }), /services/],
    ['a malformed header', () => Promise.resolve('not-a-jwt'), /Malformed|Invalid/],
  ];
  it.each(refusals)('refuses %s with 401 and a JSON error', async (_name, make, message) => {
    const t = await make();
    const res = await gql(
      url,
      '{ whoami }',
      {},
      t === undefined ? {} : { authorization: t.startsWith('ey') || t.includes('.') ? `Bearer ${t}` : t },
    );
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(res.body.errors![0]!.message).toMatch(message);
  });

  it('refuses a valid token without the audit:read scope with 403', async () => {
    const t = await token({ scope: 'audit:write' });
    const res = await gql(url, '{ whoami }', {}, { authorization: `Bearer ${t}` });
    expect(res.status).toBe(403);
    expect(res.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
  });
});

describe('limits', () => {
  let auth: Record<string, string>;
  beforeAll(async () => {
    auth = { authorization: `Bearer ${await token({ scope: 'audit:read' })}` };
  });

  async function expectLimit(query: string, code: string, limit: number, variables: Record<string, unknown> = {}) {
    const res = await gql(url, query, variables, auth);
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]!.extensions).toEqual(expect.objectContaining({ code, limit }));
    expect(res.body.errors![0]!.message).toContain(String(limit));
    // ... and the server keeps serving others.
    const ok = await gql(url, '{ echo(text: "still here") }', {}, auth);
    expect(ok.body).toEqual({ data: { echo: 'still here' } });
  }

  it('refuses a depth bomb with QUERY_TOO_DEEP', async () => {
    const deep = `{ item ${'{ child '.repeat(30)}{ id }${' }'.repeat(30)} }`;
    await expectLimit(deep, 'QUERY_TOO_DEEP', 6);
  });

  it('counts depth through fragments', async () => {
    const q = `query { item { ...A } } fragment A on Item { child { child { ...B } } } fragment B on Item { child { child { child { id } } } }`;
    await expectLimit(q, 'QUERY_TOO_DEEP', 6);
  });

  it('refuses an alias bomb with TOO_MANY_ALIASES', async () => {
    const aliases = Array.from({ length: 200 }, (_, i) => `a${i}: echo(text: "${i}")`).join(' ');
    await expectLimit(`{ ${aliases} }`, 'TOO_MANY_ALIASES', 5);
  });

  it('refuses too many root fields with TOO_MANY_ROOT_FIELDS', async () => {
    await expectLimit('{ echo item { id } items { id } whoami a: echo(text: "x") }', 'TOO_MANY_ROOT_FIELDS', 4);
  });

  it('refuses first: 100000 with PAGE_SIZE_EXCEEDED, also through a variable', async () => {
    await expectLimit('{ items(first: 100000) { id } }', 'PAGE_SIZE_EXCEEDED', 100);
    await expectLimit('query ($n: Int) { items(last: $n) { id } }', 'PAGE_SIZE_EXCEEDED', 100, { n: 100000 });
  });

  it('refuses a query whose lists multiply past the cost limit with QUERY_TOO_COMPLEX', async () => {
    await expectLimit('{ items(first: 100) { children(first: 100) { id } } }', 'QUERY_TOO_COMPLEX', 1000);
  });

  it('refuses fragments that spread the next one twice with QUERY_TOO_COMPLEX at once, at the root and below it', async () => {
    // n fragments, each spreading the next twice: 2^n copies of the last one when expanded spread by spread.
    const doubling = (prefix: string, on: string, n: number, leaf: string) =>
      Array.from(
        { length: n },
        (_, i) => `fragment ${prefix}${i} on ${on} { ...${prefix}${i + 1} ...${prefix}${i + 1} }`,
      ).join('\n') + `\nfragment ${prefix}${n} on ${on} { ${leaf} }`;
    const started = Date.now();
    await expectLimit(`{ ...Q0 }\n${doubling('Q', 'Query', 24, 'echo(text: "x")')}`, 'QUERY_TOO_COMPLEX', 1000);
    await expectLimit(`{ item { ...I0 } }\n${doubling('I', 'Item', 16, 'id')}`, 'QUERY_TOO_COMPLEX', 1000);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('measures page sizes given by variable defaults', async () => {
    await expectLimit('query ($n: Int = 101) { items(first: $n) { id } }', 'PAGE_SIZE_EXCEEDED', 100);
  });

  it('answers a query within every limit', async () => {
    const res = await gql(url, '{ items(first: 2) { id children(first: 2) { id } } }', {}, auth);
    expect(res.body).toEqual({
      data: {
        items: [
          { id: 0, children: [{ id: 0 }, { id: 1 }] },
          { id: 1, children: [{ id: 10 }, { id: 11 }] },
        ],
      },
    });
  });

  it('lets GraphiQL introspect: introspection fields do not count towards depth or cost', async () => {
    const { getIntrospectionQuery } = await import('graphql');
    const res = await gql<{ __schema: { queryType: { name: string } } }>(url, getIntrospectionQuery(), {}, auth);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.__schema.queryType.name).toBe('Query');
  });

  it('refuses a 10 MB body with 413 BODY_TOO_LARGE before parsing it', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, ' ');
    big.write('{"query":"{ echo }", "pad": "', 0);
    const res = await rawPost(url, '/graphql', big, auth);
    expect(res.status).toBe(413);
    expect(errorsOf(res.body)[0]?.extensions).toEqual(containing({ code: 'BODY_TOO_LARGE', limit: 100000 }));
    const ok = await gql(url, '{ echo(text: "after") }', {}, auth);
    expect(ok.body).toEqual({ data: { echo: 'after' } });
  });

  it('answers a request that runs past the request timeout with REQUEST_TIMEOUT', async () => {
    const res = await gql(url, '{ slow(ms: 3000) }', {}, auth);
    expect(res.status).toBe(503);
    expect(res.body.errors![0]!.extensions).toEqual(expect.objectContaining({ code: 'REQUEST_TIMEOUT', limit: 1000 }));
    const ok = await gql(url, '{ echo(text: "alive") }', {}, auth);
    expect(ok.body).toEqual({ data: { echo: 'alive' } });
  });

  it('refuses invalid JSON and non-JSON bodies with clear errors', async () => {
    const bad = await rawPost(url, '/graphql', Buffer.from('{"query": '), auth);
    expect(bad.status).toBe(400);
    expect(errorsOf(bad.body)[0]?.extensions?.code).toBe('BAD_REQUEST');
    const text = await rawPost(url, '/graphql', Buffer.from('query=1'), { ...auth, 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
  });
});

describe('errors', () => {
  it('masks internal errors: no SQL, no stack, a request id to find the log line', async () => {
    const res = await gql(noAuthUrl, '{ boom echo(text: "ok") }', {}, { 'x-request-id': 'req-123' });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ boom: null, echo: 'ok' });
    expect(res.body.errors).toEqual([
      {
        message: 'Internal server error. The details are in the server log under this request id.',
        path: ['boom'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-123' },
      },
    ]);
    expect(JSON.stringify(res.body)).not.toMatch(/secret_table|stack|at character/);
    expect(res.headers.get('x-request-id')).toBe('req-123');
  });

  it('reports a statement cancelled by statement_timeout as STATEMENT_TIMEOUT with its limit', async () => {
    const res = await gql(noAuthUrl, '{ sqlSleep(seconds: 3) }');
    expect(res.body).toEqual({
      data: { sqlSleep: null },
      errors: [
        {
          message: 'A database statement ran past the limit of 200 ms; narrow the filter or the time range.',
          path: ['sqlSleep'],
          extensions: { code: 'STATEMENT_TIMEOUT', limit: 200 },
        },
      ],
    });
  });

  it('passes client errors through with their code', async () => {
    const res = await gql(noAuthUrl, '{ refused }');
    expect(res.body.errors).toEqual([
      {
        message: 'That id is not a valid service id',
        locations: [{ line: 1, column: 3 }],
        path: ['refused'],
        extensions: { code: 'BAD_USER_INPUT' },
      },
    ]);
  });

  it('reports syntax errors without a stack trace', async () => {
    const res = await gql(noAuthUrl, '{ echo(');
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
  });

  it('switches introspection off by config', async () => {
    const res = await gql(noAuthUrl, '{ __schema { queryType { name } } }');
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors![0]!.message).toMatch(/introspection/i);
  });

  it('does not suggest field names when introspection is off', async () => {
    const res = await gql(noAuthUrl, '{ ech(text: "x") }');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        message: 'Cannot query field "ech" on type "Query".',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      }),
    ]);
    const withIntrospection = await gql(
      url,
      '{ ech(text: "x") }',
      {},
      { authorization: `Bearer ${await token({ scope: 'audit:read' })}` },
    );
    expect(withIntrospection.body.errors![0]!.message).toBe(
      'Cannot query field "ech" on type "Query". Did you mean "echo"?',
    );
  });

  it('does not suggest enum values or input fields for invalid variables when introspection is off', async () => {
    const color = new GraphQLEnumType({ name: 'Color', values: { CRIMSON: {} } });
    const where = new GraphQLInputObjectType({ name: 'Where', fields: { hiddenField: { type: GraphQLString } } });
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          pick: { type: GraphQLString, args: { color: { type: color }, where: { type: where } }, resolve: () => 'x' },
        },
      }),
    });
    const hidden = createGraphqlServer<PlaceholderContext>({
      config: loadConfig({ LOG_LEVEL: 'silent', INTROSPECTION: 'false' }),
      schema,
      createContext: ({ requestId, auth }) => ({ requestId, auth, sql: shortTimeoutDb.pool }),
      db: db.db,
      logger: createLogger('silent'),
    });
    const hiddenUrl = await hidden.start(0, '127.0.0.1');
    try {
      const q = 'query ($c: Color, $w: Where) { pick(color: $c, where: $w) }';
      const messages = async (variables: Record<string, unknown>) =>
        (await gql(hiddenUrl, q, variables)).body.errors?.map((e) => `${e.extensions?.code}: ${e.message}`);
      expect(await messages({ c: 'CRIMSO' })).toEqual([
        'BAD_USER_INPUT: Variable "$c" got invalid value "CRIMSO"; Value "CRIMSO" does not exist in "Color" enum.',
      ]);
      expect(await messages({ w: { hiddenFiel: 'x' } })).toEqual([
        'BAD_USER_INPUT: Variable "$w" got invalid value { hiddenFiel: "x" }; Field "hiddenFiel" is not defined by type "Where".',
      ]);
    } finally {
      await hidden.stop();
    }
  });
});

describe('HTTP', () => {
  it('answers GET /graphql queries', async () => {
    const res = await fetch(`${noAuthUrl}/graphql?query=${encodeURIComponent('{ echo(text: "get") }')}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { echo: 'get' } });
  });

  it('serves GraphiQL to browsers, with its assets from the server itself', async () => {
    const res = await fetch(`${url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources.sort()).toEqual(
      [
        'data:,',
        '/graphiql/assets/graphiql.min.css',
        '/graphiql/assets/graphiql.min.js',
        '/graphiql/assets/graphiql-plugin-explorer.css',
        '/graphiql/assets/graphiql-plugin-explorer.umd.js',
        '/graphiql/assets/react-dom.production.min.js',
        '/graphiql/assets/react.production.min.js',
      ].sort(),
    );
    expect(html).toContain('Who used this key?');
    expect(html).toContain('"Authorization\\": \\"Bearer \\u003ca JWT with scope audit:read\\u003e');
    for (const src of sources.filter((s) => s!.startsWith('/'))) {
      const asset = await fetch(`${url}${src}`);
      expect(asset.status).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
  });

  it('serves GraphiQL to a browser following a /graphql?query= link, and the result to a client asking for JSON', async () => {
    const link = `${noAuthUrl}/graphql?query=${encodeURIComponent('{ echo(text: "link") }')}`;
    const browser = await fetch(link, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(browser.status).toBe(200);
    expect(browser.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await browser.text()).toContain('GraphiQLPluginExplorer.explorerPlugin()');
    const client = await fetch(link, { headers: { accept: 'application/graphql-response+json, application/json' } });
    expect(client.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    expect(await client.json()).toEqual({ data: { echo: 'link' } });
  });

  it('answers CORS preflights for configured origins only', async () => {
    const allowed = await fetch(`${url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://portal.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://portal.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const other = await fetch(`${url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('reports health and readiness', async () => {
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: {
        database: { ok: true },
        migrations: { ok: true },
        replica: { ok: true, detail: 'not configured' },
        dpod: { ok: true, detail: 'not configured' },
      },
    });
  });

  it('answers unknown paths and methods with JSON errors', async () => {
    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(errorsOf(await missing.text())[0]?.extensions?.code).toBe('NOT_FOUND');
    const put = await fetch(`${url}/graphql`, { method: 'PUT' });
    expect(put.status).toBe(405);
  });

  it('answers a request target that is not a URL with 400 and keeps serving', async () => {
    // node's parser accepts this absolute-form target; URL refuses its port.
    const target = new URL(url);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(target.port), target.hostname, () =>
        socket.write('GET http://localhost:99999/graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.setTimeout(2000, () => socket.destroy());
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"code":"BAD_REQUEST"');
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('keeps the operation names of /metrics to a bounded set: later new names count under "other"', async () => {
    for (let i = 0; i < MAX_OPERATION_LABELS + 50; i++) {
      const res = await gql(noAuthUrl, `query Unique${i} { echo(text: "x") }`);
      expect(res.body).toEqual({ data: { echo: 'x' } });
    }
    const { body } = await noAuthServer.metrics.render();
    const names = [...body.matchAll(/graphql_operation_duration_seconds_count\{operation="([^"]+)"/g)].map((m) => m[1]);
    expect(names.filter((n) => n!.startsWith('Unique'))).toHaveLength(MAX_OPERATION_LABELS);
    expect(body).toContain('graphql_operation_duration_seconds_count{operation="other",type="query"} 50');
  });

  it('finishes in-flight requests on close and refuses new connections', async () => {
    const extra = start({ REQUEST_TIMEOUT_MS: '5000' });
    const extraUrl = await extra.start(0, '127.0.0.1');
    const inFlight = gql(extraUrl, '{ slow(ms: 400) }');
    await new Promise((r) => setTimeout(r, 100));
    expect(extra.http.inFlight()).toBe(1);
    const stopping = extra.stop();
    const res = await inFlight;
    expect(res.body).toEqual({ data: { slow: 'done' } });
    await stopping;
    await expect(fetch(`${extraUrl}/healthz`)).rejects.toThrow();
  });
});
