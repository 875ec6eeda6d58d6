import type { IncomingMessage } from 'node:http';

/** Route keys of the simulator (for faults and stats). */
export const SIM_ROUTES = {
  token: 'POST /oauth/token',
  listServices: 'GET /v1/service_instances',
  getService: 'GET /v1/service_instances/{id}',
  listBindings: 'GET /v1/service_instances/{id}/bindings',
  getBinding: 'GET /v1/service_instances/{id}/bindings/{clientId}',
  createExport: 'POST /v1/audit-log-exports',
  getExport: 'GET /v1/audit-log-exports/{jobId}',
  download: 'GET /exports/{jobId}/{file}',
} as const;

/** A matched route: its key and path parameters. */
export interface RouteMatch {
  route: string;
  params: string[];
}

/** Finds the route key of a request. */
export function matchRoute(method: string, path: string): RouteMatch | null {
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (method === 'POST' && (path === '/oauth/token' || path === '/oauth/v1/token'))
    return { route: SIM_ROUTES.token, params: [] };
  if (seg[0] === 'v1' && seg[1] === 'service_instances' && method === 'GET') {
    if (seg.length === 2) return { route: SIM_ROUTES.listServices, params: [] };
    if (seg.length === 3) return { route: SIM_ROUTES.getService, params: [seg[2]!] };
    if (seg.length === 4 && seg[3] === 'bindings') return { route: SIM_ROUTES.listBindings, params: [seg[2]!] };
    if (seg.length === 5 && seg[3] === 'bindings') return { route: SIM_ROUTES.getBinding, params: [seg[2]!, seg[4]!] };
  }
  if (seg[0] === 'v1' && seg[1] === 'audit-log-exports') {
    if (seg.length === 2 && method === 'POST') return { route: SIM_ROUTES.createExport, params: [] };
    if (seg.length === 3 && method === 'GET') return { route: SIM_ROUTES.getExport, params: [seg[2]!] };
  }
  if (seg[0] === 'exports' && seg.length === 3 && method === 'GET')
    return { route: SIM_ROUTES.download, params: [seg[1]!, seg[2]!] };
  return null;
}

/** Reads client credentials of a token request from the form body or HTTP Basic. */
export function parseTokenRequest(
  req: IncomingMessage,
  text: string,
): { grantType: string | null; id: string | null; secret: string | null } {
  const form = new URLSearchParams(text);
  let id = form.get('client_id');
  let secret = form.get('client_secret');
  const auth = req.headers.authorization ?? '';
  if (/^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      id = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1));
    }
  }
  return { grantType: form.get('grant_type'), id, secret };
}
