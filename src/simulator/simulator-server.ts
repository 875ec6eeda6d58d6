import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExportFormat } from './export-file';
import { createExportJob, renderJob, sendExportFile, type SimExportJob } from './export-routes';
import { FaultInjector, type FaultSpec } from './fault-injector';
import { getBinding, getServiceInstance, listBindings, listServiceInstances, type ApiShape } from './platform-routes';
import { readBody, reasonOf, sendJson, SimHttpError, springError } from './sim-http';
import { UrlSigner } from './signed-url';
import { createTenant, type Tenant, type TenantOptions } from './tenant';
import { summarizeRecords } from './record-summary';
import { matchRoute, parseTokenRequest, SIM_ROUTES } from './sim-routes';
import { TokenIssuer } from './token-issuer';

export { SIM_ROUTES } from './sim-routes';

/** Options of {@link startSimulator}; tenant options (seed, services, ...) are those of `createTenant`. */
export interface SimulatorOptions extends TenantOptions {
  /** TCP port (default 0: any free port). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** How long an export job stays ACTIVE, in ms of real time (default 300). */
  exportDelayMs?: number;
  /** Format of export files (default gzip-jsonl). */
  format?: ExportFormat;
  /** Accepted platform client id (default sim-client). */
  clientId?: string;
  /** Accepted platform client secret (default sim-secret). */
  clientSecret?: string;
  /** Lifetime of issued tokens in seconds of the clock (default 3599). */
  tokenTtlSeconds?: number;
  /** Item shapes of the platform API (default documented; `variants` alternates camelCase ids and `id` for `clientId`). */
  apiShape?: ApiShape;
  /** Base of signed download URLs (default: `http://` + the Host header of the request, so containers get a reachable URL). */
  publicUrl?: string;
}

/** A running simulator. */
export interface RunningSimulator {
  /** API base URL (also serves the token endpoint at /oauth/token). */
  url: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  tenant: Tenant;
  /** Sets (or clears with null) the faults of a route key (see {@link SIM_ROUTES}) or `*` for all. */
  setFault(route: string, fault: FaultSpec | null): void;
  /** Zeroes the request counters. */
  resetStats(): void;
  /** Requests per route key, e.g. `{ 'GET /v1/service_instances': 3 }`. */
  stats(): Record<string, number>;
  /** Responses per `route status`, e.g. `{ 'GET /v1/service_instances 503': 1 }`. */
  statusStats(): Record<string, number>;
  /** Highest number of API requests in flight at once since the last reset. */
  maxInFlight(): number;
  /** Makes every token issued so far expire. */
  expireTokens(): void;
  /** Export jobs created so far. */
  jobs(): SimExportJob[];
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the DPoD simulator over HTTP (token endpoint, platform API, Audit Query API, signed downloads, `/__sim/*`). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const tenant = createTenant(options);
  const clientId = options.clientId ?? 'sim-client';
  const clientSecret = options.clientSecret ?? 'sim-secret';
  const exportDelayMs = options.exportDelayMs ?? 300;
  const format: ExportFormat = options.format ?? 'gzip-jsonl';
  const shape: ApiShape = options.apiShape ?? 'documented';
  const nowMs = () => tenant.now().getTime();
  const faults = new FaultInjector(tenant.seed);
  const signer = new UrlSigner(nowMs);
  const jobs = new Map<string, SimExportJob>();
  let counters: Record<string, number> = {};
  let statusCounters: Record<string, number> = {};
  let inFlight = 0;
  let maxInFlight = 0;
  let baseUrl = '';
  // Issued once the port is known (the token's issuer is this server's URL).
  let tokens: TokenIssuer | null = null;
  const issuer = (): TokenIssuer => {
    if (!tokens) throw new Error('the simulator is not listening yet');
    return tokens;
  };

  const count = (route: string) => (counters[route] = (counters[route] ?? 0) + 1);
  const countStatus = (route: string, status: number) =>
    (statusCounters[`${route} ${status}`] = (statusCounters[`${route} ${status}`] ?? 0) + 1);

  function fail(res: ServerResponse, route: string, path: string, err: SimHttpError): void {
    countStatus(route, err.status);
    sendJson(res, err.status, err.body ?? springError(err.status, err.message, path), err.headers);
  }

  async function handleSim(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/__sim/stats' && req.method === 'GET')
      return sendJson(res, 200, { requests: counters, responses: statusCounters, maxInFlight });
    if (path === '/__sim/stats/reset' && req.method === 'POST') {
      running.resetStats();
      return sendJson(res, 200, { reset: true });
    }
    if (path === '/__sim/tenant' && req.method === 'GET') {
      return sendJson(res, 200, {
        tenantId: tenant.tenantId,
        seed: tenant.seed,
        services: tenant.services,
        incidents: tenant.incidents.map((i) => ({
          rule: i.rule,
          description: i.description,
          serviceId: i.serviceId,
          clientId: i.clientId,
          from: i.events[0] ? new Date(i.events[0].ms).toISOString() : null,
          to: i.events.length > 0 ? new Date(i.events[i.events.length - 1]!.ms).toISOString() : null,
          records: i.events.length,
        })),
        historyStart: new Date(tenant.historyStartMs()).toISOString(),
        now: tenant.now().toISOString(),
      });
    }
    if (path === '/__sim/summary' && req.method === 'GET') {
      const q = new URL(req.url ?? '/', 'http://sim').searchParams;
      const from = new Date(q.get('from') ?? tenant.historyStartMs());
      const to = new Date(q.get('to') ?? tenant.now().getTime());
      if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()))
        throw new SimHttpError(400, 'from and to must be ISO date-times');
      return sendJson(res, 200, {
        from: from.toISOString(),
        to: to.toISOString(),
        ...summarizeRecords(tenant, from, to),
      });
    }
    const faultMatch = /^\/__sim\/faults$/.exec(path);
    if (faultMatch && req.method === 'POST') {
      const body = JSON.parse((await readBody(req)) || '{}') as { route?: string; fault?: FaultSpec | null };
      if (!body.route)
        throw new SimHttpError(400, 'body must be {"route": "GET /v1/service_instances" | "*", "fault": {...} | null}');
      faults.set(body.route, body.fault ?? null);
      return sendJson(res, 200, { route: body.route, fault: body.fault ?? null });
    }
    throw new SimHttpError(404, `No simulator control endpoint ${req.method} ${path}`);
  }

  /** Where the caller reached us: signed URLs must be fetchable from there. */
  function downloadBase(req: IncomingMessage): string {
    if (options.publicUrl) return options.publicUrl.replace(/\/+$/, '');
    const host = req.headers.host;
    return host && /^[\w.-]+(:\d+)?$|^\[[\w:.]+\](:\d+)?$/.test(host) ? `http://${host}` : baseUrl;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/__sim/')) {
      try {
        return await handleSim(req, res, path);
      } catch (err) {
        const e = err instanceof SimHttpError ? err : new SimHttpError(400, String(err));
        return sendJson(res, e.status, springError(e.status, e.message, path));
      }
    }
    const match = matchRoute(method, path);
    if (!match) return sendJson(res, 404, springError(404, `No route ${method} ${path}`, path));
    const { route, params } = match;
    count(route);
    // In flight until the response is done or the caller hung up (a timed-out client no longer counts).
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => inFlight--);
    try {
      const latency = faults.latencyFor(route);
      if (latency > 0) await sleep(latency);
      const isApi = route !== SIM_ROUTES.token && route !== SIM_ROUTES.download;
      const decision = faults.decide(route, isApi, route === SIM_ROUTES.download);
      if (decision.kind === 'error')
        throw new SimHttpError(decision.status, `Injected ${decision.status} ${reasonOf(decision.status)}`);
      if (decision.kind === 'rate-limit') {
        throw new SimHttpError(429, 'Rate limit exceeded', undefined, {
          'retry-after': String(decision.retryAfterSeconds),
        });
      }
      if (route === SIM_ROUTES.token) {
        const { grantType, id, secret } = parseTokenRequest(req, await readBody(req));
        if (grantType !== 'client_credentials') {
          throw new SimHttpError(400, 'unsupported grant type', {
            error: 'unsupported_grant_type',
            error_description: `Unsupported grant type: ${grantType ?? '(none)'}`,
          });
        }
        if (id !== clientId || secret !== clientSecret) {
          throw new SimHttpError(401, 'bad credentials', {
            error: 'unauthorized',
            error_description: 'Bad credentials',
          });
        }
        countStatus(route, 200);
        return sendJson(res, 200, issuer().issue(id), { 'cache-control': 'no-store' });
      }
      if (route === SIM_ROUTES.download) {
        if (req.headers.authorization) {
          // Like an object store: a pre-signed URL plus an Authorization header is refused.
          countStatus(route, 400);
          res.writeHead(400, { 'content-type': 'application/xml' });
          return void res.end(
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Sim-Signature query parameter or the Authorization header should be specified</Message></Error>',
          );
        }
        const job = jobs.get(params[0]!);
        const verdict = signer.verify(path, url.searchParams);
        if (!job || verdict !== 'ok') {
          countStatus(route, 403);
          const reason =
            verdict === 'expired'
              ? 'Request has expired'
              : 'The request signature we calculated does not match the signature you provided.';
          const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${reason}</Message></Error>`;
          res.writeHead(403, { 'content-type': 'application/xml' });
          return void res.end(xml);
        }
        countStatus(route, 200);
        return sendExportFile(res, tenant, job, decision.kind === 'truncate' ? decision.afterBytes : undefined);
      }
      // Every API route needs a valid bearer token.
      const auth = /^bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      const verdict =
        decision.kind === 'token-expired' ? 'expired' : auth ? issuer().verify(auth[1]!.trim()) : 'missing';
      if (verdict !== 'ok') {
        const description =
          verdict === 'expired'
            ? 'Access token expired'
            : verdict === 'missing'
              ? 'Full authentication is required to access this resource'
              : 'Invalid access token';
        throw new SimHttpError(
          401,
          description,
          { error: verdict === 'missing' ? 'unauthorized' : 'invalid_token', error_description: description },
          {
            'www-authenticate': `Bearer error="invalid_token", error_description="${description}"`,
          },
        );
      }
      let status = 200;
      let body: unknown;
      switch (route) {
        case SIM_ROUTES.listServices:
          body = listServiceInstances(tenant, url.searchParams, shape);
          break;
        case SIM_ROUTES.getService:
          body = getServiceInstance(tenant, params[0]!, shape);
          break;
        case SIM_ROUTES.listBindings:
          body = listBindings(tenant, params[0]!, url.searchParams, shape);
          break;
        case SIM_ROUTES.getBinding:
          body = getBinding(tenant, params[0]!, params[1]!, shape);
          break;
        case SIM_ROUTES.createExport: {
          const job = createExportJob(await readBody(req), tenant, format, faults.failExport(route));
          jobs.set(job.jobId, job);
          status = 201;
          body = renderJob(job, exportDelayMs, signer, downloadBase(req));
          break;
        }
        case SIM_ROUTES.getExport: {
          const job = jobs.get(params[0]!);
          if (!job) throw new SimHttpError(404, `Audit log export ${params[0]} not found`);
          body = renderJob(job, exportDelayMs, signer, downloadBase(req));
          break;
        }
        default:
          throw new SimHttpError(404, `No route ${method} ${path}`);
      }
      countStatus(route, status);
      sendJson(res, status, body);
    } catch (err) {
      const e =
        err instanceof SimHttpError ? err : new SimHttpError(500, err instanceof Error ? err.message : String(err));
      fail(res, route, path, e);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, springError(500, String(err), req.url ?? ''));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  baseUrl = `http://${shownHost}:${port}`;
  tokens = new TokenIssuer(`${baseUrl}/oauth/token`, tenant.tenantId, options.tokenTtlSeconds ?? 3599, nowMs);

  const running: RunningSimulator = {
    url: baseUrl,
    tokenUrl: `${baseUrl}/oauth/token`,
    clientId,
    clientSecret,
    tenant,
    setFault: (route, fault) => faults.set(route, fault),
    resetStats: () => {
      counters = {};
      statusCounters = {};
      maxInFlight = inFlight;
    },
    stats: () => ({ ...counters }),
    statusStats: () => ({ ...statusCounters }),
    maxInFlight: () => maxInFlight,
    expireTokens: () => issuer().expireAll(),
    jobs: () => [...jobs.values()],
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
  return running;
}
