import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphqlEngine } from '../apollo/apollo-server';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { AuthError, type AuthScope, type Authenticator } from '../auth/authenticator';
import { GRAPHIQL_ASSET_PREFIX, type StaticAsset } from '../graphiql/graphiql-page';
import { OVERVIEW_ASSET_PREFIX, OVERVIEW_CSP, OVERVIEW_PATH, type OverviewSite } from '../overview/overview-page';
import { handleGraphqlRequest, methodNotAllowed, type TimeoutFlag } from './graphql-http';
import { HttpError, sendHttpError } from './http-errors';
import type { Metrics } from '../metrics/metrics';
import type { ReadinessReport } from './readiness';
import type { LiveTransports } from './live-transports';
import { parseJsonBody, readBody } from './request-body';

/** What the HTTP server needs; built by the composition root (`app.ts`). */
export interface HttpServerDeps<TContext extends object> {
  http: Config['http'];
  /** Apollo Server and its fast lane. */
  graphql: GraphqlEngine<TContext>;
  authenticate: Authenticator;
  /** Builds the GraphQL context of one authenticated request. */
  createContext(input: { requestId: string; auth: AuthScope }): Promise<TContext> | TContext;
  metrics: Metrics;
  logger: Logger;
  readiness(): Promise<ReadinessReport>;
  /** The GraphiQL HTML (rendered per request so the examples use current ids). */
  graphiqlPage(): Promise<string>;
  assets: Map<string, StaticAsset>;
  /** The overview page (`/overview`) and its assets. */
  overview: OverviewSite;
  /** Subscriptions (graphql-ws upgrades and graphql-sse streams on /graphql); none without it. */
  live?: LiveTransports;
  /** GET/POST /export (src/export/export-route.ts): authorised and scoped like GraphQL; 404 without it. */
  exportEvents?: (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    authenticate: () => Promise<AuthScope>,
    headers: Record<string, string>,
  ) => Promise<void>;
}

/** A listening HTTP server with graceful shutdown. */
export interface HttpServer {
  server: Server;
  /** Starts listening; resolves with the base URL (e.g. `http://127.0.0.1:4000`). */
  listen(port: number, host: string): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes every connection. */
  close(graceMs?: number): Promise<void>;
  /** Requests being handled right now. */
  inFlight(): number;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

function routeOf(path: string): string {
  if (
    path === '/graphql' ||
    path === '/export' ||
    path === '/export/manifest' ||
    path === '/healthz' ||
    path === '/readyz' ||
    path === '/metrics' ||
    path === OVERVIEW_PATH
  )
    return path;
  if (path.startsWith(GRAPHIQL_ASSET_PREFIX)) return GRAPHIQL_ASSET_PREFIX + '*';
  if (path.startsWith(OVERVIEW_ASSET_PREFIX)) return OVERVIEW_ASSET_PREFIX + '*';
  if (path === '/') return '/';
  return 'other';
}

/**
 * True for a browser navigation (it accepts HTML), with or without a query in the URL: a link such as
 * `/graphql?query=...` opens GraphiQL on that query (as GraphQL Yoga and express-graphql do); GraphQL clients
 * ask for JSON and get the result.
 */
function wantsGraphiql(req: IncomingMessage): boolean {
  return /text\/html/i.test(req.headers.accept ?? '');
}

/** Creates the node:http server: /graphql (GET, POST, GraphiQL), /overview, /healthz, /readyz, /metrics, assets. */
export function createHttpServer<TContext extends object>(deps: HttpServerDeps<TContext>): HttpServer {
  const { http, logger, metrics } = deps;
  const allowAnyOrigin = http.corsOrigins.includes('*');
  const allowedOrigins = new Set(http.corsOrigins);
  let active = 0;
  let closing = false;
  const idleWaiters: (() => void)[] = [];

  function corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (!origin || !(allowAnyOrigin || allowedOrigins.has(origin))) return {};
    return {
      'access-control-allow-origin': allowAnyOrigin ? '*' : origin,
      'access-control-expose-headers': 'x-request-id',
      vary: 'Origin',
    };
  }

  async function authenticate(req: IncomingMessage): Promise<AuthScope> {
    try {
      return await deps.authenticate(req.headers.authorization);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      throw new HttpError(
        err.code,
        err.message,
        {},
        err.status === 401 ? { 'www-authenticate': 'Bearer realm="dpod-audit", error="invalid_token"' } : {},
      );
    }
  }

  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    requestId: string,
    signal: TimeoutFlag,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const base = { 'x-request-id': requestId, ...corsHeaders(req), ...(closing ? { connection: 'close' } : {}) };
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (method === 'OPTIONS') {
      const cors = corsHeaders(req);
      res.writeHead(204, {
        ...base,
        ...(cors['access-control-allow-origin']
          ? {
              'access-control-allow-methods': 'GET, POST, OPTIONS',
              'access-control-allow-headers': 'authorization, content-type, x-request-id, apollo-require-preflight',
              'access-control-max-age': '600',
            }
          : {}),
      });
      res.end();
      return;
    }
    if (path === '/graphql') {
      if (method !== 'GET' && method !== 'POST') throw methodNotAllowed();
      if (method === 'GET' && wantsGraphiql(req)) {
        const html = await deps.graphiqlPage();
        res.writeHead(200, { ...base, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(html);
        return;
      }
      if (closing)
        throw new HttpError(
          'SHUTTING_DOWN',
          'The server is shutting down; retry on another instance.',
          {},
          { 'retry-after': '1' },
        );
      const auth = await authenticate(req);
      if (deps.live?.wantsSse(req)) {
        const body =
          method === 'POST'
            ? parseJsonBody(await readBody(req, http.bodyLimitBytes), req.headers['content-type'])
            : undefined;
        await deps.live.serveSse(req, res, auth, requestId, body);
        return;
      }
      await handleGraphqlRequest(req, res, url, base, {
        engine: deps.graphql,
        metrics,
        bodyLimitBytes: http.bodyLimitBytes,
        context: async () => deps.createContext({ requestId, auth }),
        signal,
      });
      return;
    }
    if ((path === '/export' || path === '/export/manifest') && deps.exportEvents) {
      if (method !== 'GET' && method !== 'POST')
        throw new HttpError('METHOD_NOT_ALLOWED', 'Use GET or POST on /export.', {}, { allow: 'GET, POST' });
      if (closing)
        throw new HttpError(
          'SHUTTING_DOWN',
          'The server is shutting down; retry on another instance.',
          {},
          {
            'retry-after': '1',
          },
        );
      await deps.exportEvents(req, res, url, () => authenticate(req), base);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD')
      throw new HttpError('METHOD_NOT_ALLOWED', `Use GET on ${path}.`, {}, { allow: 'GET' });
    if (path === '/healthz') {
      sendJson(res, 200, base, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      const report = await deps.readiness();
      sendJson(res, report.ready ? 200 : 503, base, {
        status: report.ready ? 'ready' : 'not ready',
        checks: report.checks,
      });
      return;
    }
    if (path === '/metrics') {
      const { contentType, body } = await metrics.render();
      res.writeHead(200, { ...base, 'content-type': contentType });
      res.end(body);
      return;
    }
    if (url.pathname.startsWith(GRAPHIQL_ASSET_PREFIX)) {
      sendAsset(res, base, url.pathname, deps.assets.get(url.pathname.slice(GRAPHIQL_ASSET_PREFIX.length)));
      return;
    }
    if (path === OVERVIEW_PATH) {
      // The page needs no token: it asks for one under AUTH_MODE=jwt and sends it with its own GraphQL requests.
      res.writeHead(200, {
        ...base,
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': OVERVIEW_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(deps.overview.html);
      return;
    }
    if (url.pathname.startsWith(OVERVIEW_ASSET_PREFIX)) {
      sendAsset(res, base, url.pathname, deps.overview.assets.get(url.pathname.slice(OVERVIEW_ASSET_PREFIX.length)));
      return;
    }
    if (path === '/') {
      res.writeHead(302, { ...base, location: '/graphql' });
      res.end();
      return;
    }
    throw new HttpError('NOT_FOUND', `No route ${url.pathname}: GraphQL is at /graphql.`);
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    // The parser lets through absolute targets such as `http://host:99999/`, which URL refuses: an exception here
    // (outside the handler's try) would reject unhandled and end the process.
    if (!URL.canParse(req.url ?? '/', 'http://localhost')) {
      sendHttpError(res, new HttpError('BAD_REQUEST', 'The request target is not a valid URL.'), requestId);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const routeLabel = routeOf(url.pathname.replace(/\/+$/, '') || '/');
    // A plain flag, not an AbortController: nothing listens for the abort, and one is built per request.
    const timedOut: TimeoutFlag = { aborted: false };
    active++;
    // A subscription's event stream lives as long as its client wants, and an export as long as its data: no time limit
    // (each of an export's statements has the statement timeout).
    const stream =
      (routeLabel === '/graphql' && deps.live?.wantsSse(req) === true) ||
      ((routeLabel === '/export' || routeLabel === '/export/manifest') && deps.exportEvents !== undefined);
    const timer = stream
      ? undefined
      : setTimeout(() => {
          timedOut.aborted = true;
          metrics.graphqlErrors.inc({ code: 'REQUEST_TIMEOUT' });
          logger.warn({ requestId, path: url.pathname, timeoutMs: http.requestTimeoutMs }, 'request timed out');
          sendHttpError(
            res,
            new HttpError('REQUEST_TIMEOUT', `The request took longer than the limit of ${http.requestTimeoutMs} ms.`, {
              limit: http.requestTimeoutMs,
            }),
            requestId,
          );
        }, http.requestTimeoutMs);
    try {
      await route(req, res, url, requestId, timedOut);
    } catch (err) {
      if (!timedOut.aborted) {
        if (err instanceof HttpError) {
          if (routeLabel === '/graphql') metrics.graphqlErrors.inc({ code: err.code });
          sendHttpError(res, err, requestId);
        } else {
          logger.error({ requestId, err, path: url.pathname }, 'request failed');
          sendHttpError(
            res,
            new HttpError(
              'INTERNAL_SERVER_ERROR',
              'Internal server error. The details are in the server log under this request id.',
            ),
            requestId,
          );
        }
      }
    } finally {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequestDuration.observe(
        { method: req.method ?? 'GET', route: routeLabel, status: String(res.statusCode) },
        seconds,
      );
      const level = routeLabel === '/graphql' ? 'info' : 'debug';
      logger[level](
        { requestId, method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(seconds * 1000) },
        'request',
      );
      if (--active === 0) for (const wake of idleWaiters.splice(0)) wake();
    }
  }

  const server = createServer(
    // requestTimeout bounds receiving a request (headers and body), not the response: event streams stay open.
    { requestTimeout: http.requestTimeoutMs + 5_000, keepAliveTimeout: 5_000 },
    (req, res) => {
      void onRequest(req, res);
    },
  );
  deps.live?.attach(server);

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const addr = server.address() as AddressInfo;
          const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
          resolve(`http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${addr.port}`);
        });
      });
    },
    async close(graceMs = http.requestTimeoutMs) {
      closing = true;
      // Open subscriptions end first (WebSockets with 1001, event streams ended): they would hold the drain.
      await deps.live?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (active > 0) {
        await Promise.race([
          new Promise<void>((r) => idleWaiters.push(r)),
          new Promise((r) => setTimeout(r, graceMs).unref()),
        ]);
      }
      server.closeAllConnections();
      await closed;
    },
    inFlight: () => active,
  };
}

function sendAsset(
  res: ServerResponse,
  headers: Record<string, string>,
  pathname: string,
  asset: StaticAsset | undefined,
): void {
  if (!asset) throw new HttpError('NOT_FOUND', `No asset at ${pathname}.`);
  res.writeHead(200, {
    ...headers,
    'content-type': asset.contentType,
    'content-length': asset.body.length,
    'cache-control': 'public, max-age=86400',
    'x-content-type-options': 'nosniff',
  });
  res.end(asset.body);
}

function sendJson(res: ServerResponse, status: number, headers: Record<string, string>, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
