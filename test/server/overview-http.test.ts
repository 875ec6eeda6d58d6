import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { loadConfig } from '../../src/config';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';
import { createLogger } from '../../src/logger';
import { createGraphqlServer, type GraphqlServer } from '../../src/server/graphql-server';
import { OVERVIEW_QUERIES } from '../../src/server/overview/overview-queries';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { placeholderSchema, type PlaceholderContext } from './support/placeholder-schema';

let db: TestDatabase;
let pool: DatabaseHandle;
const servers: GraphqlServer[] = [];

async function start(env: Record<string, string> = {}): Promise<string> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
  const server = createGraphqlServer<PlaceholderContext>({
    config,
    schema: placeholderSchema,
    createContext: ({ requestId, auth }) => ({ requestId, auth, sql: pool.pool }),
    db: db.db,
    logger: createLogger('silent'),
  });
  servers.push(server);
  return server.start(0, '127.0.0.1');
}

let url: string;

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 2 });
  pool = createDatabase({ url: db.url, poolSize: 1 });
  url = await start();
});

afterAll(async () => {
  for (const server of servers) await server.stop();
  await pool?.destroy();
  await db?.drop();
});

/** The src/href attributes of an HTML page. */
function linksOf(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
}

it('serves /overview as HTML under a same-origin Content-Security-Policy, naming no other host', async () => {
  for (const path of ['/overview', '/overview/']) {
    const res = await fetch(`${url}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    // No absolute URL at all, and no inline script (the CSP would refuse it).
    expect(html).not.toMatch(/https?:|\/\/[a-z]/i);
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/);
    expect(html).toContain('data-auth-mode="none"');
    expect(
      linksOf(html)
        .map((l) => l.replace(/\?v=[0-9a-f]{12}$/, ''))
        .sort(),
    ).toEqual(
      [
        'data:,',
        '/graphql',
        '/graphql',
        '/graphql',
        '/graphql',
        '/graphql',
        '/graphql',
        '/graphql',
        '/graphql',
        '/overview/assets/echarts.min.js',
        '/overview/assets/overview.css',
        '/overview/assets/overview.js',
      ].sort(),
    );
  }
});

it("serves the page's script, stylesheet and ECharts' browser build from node_modules with their content types", async () => {
  const html = await (await fetch(`${url}/overview`)).text();
  const assets = linksOf(html).filter((l) => l.startsWith('/overview/assets/'));
  const echartsFile = readFileSync(join(dirname(require.resolve('echarts/package.json')), 'dist', 'echarts.min.js'));
  const types: Record<string, string> = {
    'echarts.min.js': 'text/javascript; charset=utf-8',
    'overview.js': 'text/javascript; charset=utf-8',
    'overview.css': 'text/css; charset=utf-8',
  };
  for (const link of assets) {
    const name = link.slice('/overview/assets/'.length).replace(/\?.*$/, '');
    const res = await fetch(`${url}${link}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(types[name]);
    expect(res.headers.get('cache-control')).toBe('public, max-age=86400');
    const body = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    if (name === 'echarts.min.js') expect(body.equals(echartsFile)).toBe(true);
    if (name === 'overview.js') {
      // Valid JavaScript that carries every panel's query.
      expect(() => new Script(body.toString())).not.toThrow();
      for (const query of Object.values(OVERVIEW_QUERIES)) expect(body.toString()).toContain(JSON.stringify(query));
    }
  }
  expect(assets.map((l) => l.replace(/\?.*$/, '')).sort()).toEqual(
    ['/overview/assets/echarts.min.js', '/overview/assets/overview.css', '/overview/assets/overview.js'].sort(),
  );
});

it('answers 404 for an unknown overview asset, and for a path outside the asset map', async () => {
  for (const path of [
    '/overview/assets/nope.js',
    '/overview/assets/',
    '/overview/assets/..%2Fpackage.json',
    '/overview/more',
  ]) {
    const res = await fetch(`${url}${path}`);
    expect([path, res.status]).toEqual([path, 404]);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'NOT_FOUND',
    );
  }
});

it('asks for a token on the page served under AUTH_MODE=jwt, which itself needs none', async () => {
  const jwtUrl = await start({
    AUTH_MODE: 'jwt',
    JWT_SECRET: 'an-overview-test-secret-that-is-32-chars-or-more',
    JWT_ISSUER: 'https://idp.test/',
    JWT_AUDIENCE: 'dpod-audit-gateway',
  });
  const res = await fetch(`${jwtUrl}/overview`);
  expect(res.status).toBe(200);
  const html = await res.text();
  expect(html).toContain('data-auth-mode="jwt"');
  expect(html).toContain('<input name="token" type="password"');
  const script = await fetch(`${jwtUrl}/overview/assets/overview.js`);
  expect(script.status).toBe(200);
});

it('counts the page and its assets under their own routes in the HTTP metrics', async () => {
  await fetch(`${url}/overview`);
  await fetch(`${url}/overview/assets/overview.css`);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/overview"[^}]*\} [1-9]/);
  expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/overview\/assets\/\*"[^}]*\} [1-9]/);
});
