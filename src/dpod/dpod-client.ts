import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DpodHttp, type DpodHttpOptions, type DpodHttpRequest } from './dpod-http';
import { toBinding, toExportJob, toPage, toService, ShapeError } from './dpod-mappers';
import { DpodExportError, DpodRequestError, DpodResponseError, DpodUnavailableError, excerptOf } from './errors';
import { walkPages } from './page-walker';
import type { DpodBinding, DpodCallRecord, DpodService, ExportJob, Page, ServiceFilter } from './types';

export type { DpodCallRecord } from './types';

/** Count and total duration of the attempts of one route with one outcome. */
export interface DpodCallStat {
  route: string;
  status: DpodCallRecord['status'];
  count: number;
  totalDurationMs: number;
}

/** Options of {@link DpodClient}; transport defaults are those of {@link DpodHttpOptions}. */
export interface DpodClientOptions extends DpodHttpOptions {
  /** API base, e.g. `https://acme.eu.market.dpondemand.io`. */
  apiUrl: string;
  /** Page size used when walking all pages (default 100, the API's maximum). */
  pageSize?: number;
  /** A download fails when no byte arrives for this long while its reader waits (default: `timeoutMs`, 15000 ms). */
  downloadIdleTimeoutMs?: number;
}

/** Options of {@link DpodClient.waitForExport}. */
export interface WaitForExportOptions {
  /** Delay between polls (default 1000 ms). */
  pollIntervalMs?: number;
  /** Give up after this long (default 30 min). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Filters accepted by the Audit Query API next to the window. */
export interface ExportRequest {
  from: Date;
  to: Date;
  source?: string;
  actorId?: string;
  action?: string;
  status?: string;
  tenantId?: string;
}

const ROUTES = {
  services: 'GET /v1/service_instances',
  service: 'GET /v1/service_instances/{id}',
  bindings: 'GET /v1/service_instances/{id}/bindings',
  binding: 'GET /v1/service_instances/{id}/bindings/{clientId}',
  createExport: 'POST /v1/audit-log-exports',
  export: 'GET /v1/audit-log-exports/{jobId}',
  download: 'GET {location}',
} as const;

/** The largest page the platform API serves. */
export const MAX_PAGE_SIZE = 100;

/** Typed client of the DPoD platform API (services, bindings) and Audit Query API (exports). */
export class DpodClient {
  private readonly http: DpodHttp;
  private readonly apiUrl: string;
  private readonly pageSize: number;
  private readonly downloadIdleMs: number;
  private readonly counters = new Map<string, DpodCallStat>();

  constructor(options: DpodClientOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.pageSize = Math.min(MAX_PAGE_SIZE, options.pageSize ?? MAX_PAGE_SIZE);
    this.downloadIdleMs = options.downloadIdleTimeoutMs ?? options.timeoutMs ?? 15_000;
    this.http = new DpodHttp({
      ...options,
      onCall: (call) => {
        this.count(call);
        options.onCall?.(call);
      },
    });
  }

  /** Outgoing attempts so far, per route and status, with their total duration (metrics-ready counters). */
  callStats(): DpodCallStat[] {
    return [...this.counters.values()].map((s) => ({ ...s }));
  }

  private count(call: DpodCallRecord): void {
    const key = `${call.route} ${call.status}`;
    const stat = this.counters.get(key) ?? { route: call.route, status: call.status, count: 0, totalDurationMs: 0 };
    stat.count++;
    stat.totalDurationMs += call.durationMs;
    this.counters.set(key, stat);
  }

  /** How many access tokens were fetched so far. */
  tokenFetchCount(): number {
    return this.http.tokens.fetchCount();
  }

  /** One page of service instances (`page` 0-based, `size` 1..100). */
  async listServicesPage(params: { page: number; size: number } & ServiceFilter): Promise<Page<DpodService>> {
    checkPaging(params, 'listServicesPage');
    const query = new URLSearchParams({ page: String(params.page), size: String(params.size) });
    if (params.status) query.set('status', params.status);
    if (params.serviceType) query.set('serviceType', params.serviceType);
    const res = await this.get('listServicesPage', ROUTES.services, `/v1/service_instances?${query.toString()}`);
    return this.parse('listServicesPage', ROUTES.services, res.text, (body) => toPage(body, toService, params));
  }

  /** Every service instance, walking all pages ({@link walkPages}: four at a time, each id once). */
  async listServices(filter: ServiceFilter = {}): Promise<DpodService[]> {
    return walkPages((page) => this.listServicesPage({ page, size: this.pageSize, ...filter }), {
      call: 'listServicesPage',
      route: ROUTES.services,
      idOf: (s) => s.id,
    });
  }

  /** One service instance, or null when DPoD does not know it (404: unknown or deleted). */
  async getService(id: string): Promise<DpodService | null> {
    const path = idPath`/v1/service_instances/${id}`;
    if (path === null) return null;
    const res = await this.get('getService', ROUTES.service, path, [404]);
    if (res.status === 404) return null;
    return this.parse('getService', ROUTES.service, res.text, toService);
  }

  /** One page of a service's bindings, or null when the service is unknown (404). */
  async listBindingsPage(serviceId: string, params: { page: number; size: number }): Promise<Page<DpodBinding> | null> {
    checkPaging(params, 'listBindingsPage');
    const path = idPath`/v1/service_instances/${serviceId}/bindings`;
    if (path === null) return null;
    const query = new URLSearchParams({ page: String(params.page), size: String(params.size) });
    const res = await this.get('listBindingsPage', ROUTES.bindings, `${path}?${query.toString()}`, [404]);
    if (res.status === 404) return null;
    return this.parse('listBindingsPage', ROUTES.bindings, res.text, (body) =>
      toPage(body, (item) => toBinding(item, serviceId), params),
    );
  }

  /** Every binding of a service (all pages, each client once), or null when the service is unknown. */
  async listBindings(serviceId: string): Promise<DpodBinding[] | null> {
    let missing = false;
    const all = await walkPages(
      async (page) => {
        const p = await this.listBindingsPage(serviceId, { page, size: this.pageSize });
        if (p === null) missing = true;
        return p ?? { items: [], page, size: this.pageSize, totalElements: 0, totalPages: 0 };
      },
      { call: 'listBindingsPage', route: ROUTES.bindings, idOf: (b) => b.clientId },
    );
    return missing ? null : all;
  }

  /** One binding, or null when the client is not bound to the service (or the service is unknown). */
  async getBinding(serviceId: string, clientId: string): Promise<DpodBinding | null> {
    const path = idPath`/v1/service_instances/${serviceId}/bindings/${clientId}`;
    if (path === null) return null;
    const res = await this.get('getBinding', ROUTES.binding, path, [404]);
    if (res.status === 404) return null;
    return this.parse('getBinding', ROUTES.binding, res.text, (body) => toBinding(body, serviceId));
  }

  /** Starts an audit log export of [from, to) (at most 31 days upstream); DPoD answers 201 with an ACTIVE job. */
  async createExport(request: ExportRequest): Promise<ExportJob> {
    const { from, to, ...filters } = request;
    if (
      !(from instanceof Date) ||
      Number.isNaN(from.getTime()) ||
      !(to instanceof Date) ||
      Number.isNaN(to.getTime())
    ) {
      throw new DpodRequestError('from and to must be valid dates', {
        call: 'createExport',
        route: ROUTES.createExport,
        status: null,
        retryable: false,
      });
    }
    const body = JSON.stringify({ from: from.toISOString(), to: to.toISOString(), ...filters });
    const res = await this.http.send({
      call: 'createExport',
      route: ROUTES.createExport,
      method: 'POST',
      url: `${this.apiUrl}/v1/audit-log-exports`,
      headers: { 'content-type': 'application/json' },
      body,
    });
    return this.parse('createExport', ROUTES.createExport, res.text, toExportJob);
  }

  /** The current state of an export job. */
  async getExport(jobId: string): Promise<ExportJob> {
    const path = idPath`/v1/audit-log-exports/${jobId}`;
    if (path === null) {
      throw new DpodRequestError(`export job id ${JSON.stringify(jobId)} is not a path segment`, {
        call: 'getExport',
        route: ROUTES.export,
        status: null,
        retryable: false,
      });
    }
    const res = await this.get('getExport', ROUTES.export, path);
    return this.parse('getExport', ROUTES.export, res.text, toExportJob);
  }

  /** Polls a job until SUCCEEDED; throws {@link DpodExportError} on FAILED/CANCELLED, timeout or abort. */
  async waitForExport(jobId: string, options: WaitForExportOptions = {}): Promise<ExportJob> {
    const interval = options.pollIntervalMs ?? 1000;
    const timeoutMs = options.timeoutMs ?? 30 * 60_000;
    const giveUpAt = Date.now() + timeoutMs;
    const fail = (message: string, state: string | null, retryable: boolean) =>
      new DpodExportError(
        message,
        { call: 'waitForExport', route: ROUTES.export, status: null, retryable },
        jobId,
        state,
      );
    for (;;) {
      if (options.signal?.aborted) throw fail('aborted', null, true);
      const job = await this.getExport(jobId);
      if (job.state === 'SUCCEEDED') {
        if (!job.location) throw fail('job SUCCEEDED without a location', job.state, false);
        return job;
      }
      if (job.state === 'FAILED' || job.state === 'CANCELLED')
        throw fail(`export job ${jobId} ended ${job.state}`, job.state, job.state === 'FAILED');
      if (Date.now() + interval > giveUpAt)
        throw fail(`export job ${jobId} still ${job.state} after ${timeoutMs} ms`, job.state, true);
      await abortableSleep(interval, options.signal);
    }
  }

  /**
   * Downloads an export's file from its pre-signed `location` (no Authorization header) as raw bytes. The stream
   * fails with a {@link DpodUnavailableError} when the server sends nothing for `downloadIdleTimeoutMs` while it is read.
   */
  async downloadExport(location: string): Promise<Readable> {
    if (!URL.canParse(location)) {
      throw new DpodRequestError('location is not a URL', {
        call: 'downloadExport',
        route: ROUTES.download,
        status: null,
        bodyExcerpt: excerptOf(location),
        retryable: false,
      });
    }
    const res = await this.http.send({
      call: 'downloadExport',
      route: ROUTES.download,
      method: 'GET',
      url: location,
      headers: { accept: '*/*' },
      auth: false,
      stream: true,
    });
    if (/^\s*text\/html\b/i.test(res.headers.get('content-type') ?? '')) {
      // A login or error page served with 200 (a proxy, an expired link) would be read as lines of bad records.
      const text = await firstChunkText(res.response);
      throw new DpodResponseError(
        'the signed URL answered an HTML page, not an export file; request the export again',
        {
          call: 'downloadExport',
          route: ROUTES.download,
          status: res.status,
          bodyExcerpt: excerptOf(text),
          retryable: true,
          attempts: res.attempts,
        },
      );
    }
    const body = res.response.body;
    if (!body) return Readable.from([]);
    const stalled = () =>
      new DpodUnavailableError(
        `no bytes for ${this.downloadIdleMs} ms in the middle of the file (the server stalled); download it again`,
        {
          call: 'downloadExport',
          route: ROUTES.download,
          status: 'timeout',
          retryable: true,
          attempts: res.attempts,
        },
      );
    return Readable.from(idleLimited(body as WebReadableStream<Uint8Array>, this.downloadIdleMs, stalled), {
      objectMode: false,
    });
  }

  private get(call: string, route: string, path: string, passStatuses?: number[]) {
    const req: DpodHttpRequest = { call, route, method: 'GET', url: `${this.apiUrl}${path}`, passStatuses };
    return this.http.send(req);
  }

  private parse<T>(call: string, route: string, text: string, map: (body: unknown) => T): T {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new DpodResponseError('response is not JSON', {
        call,
        route,
        status: 200,
        bodyExcerpt: excerptOf(text),
        retryable: false,
        cause: err,
      });
    }
    try {
      return map(body);
    } catch (err) {
      if (!(err instanceof ShapeError)) throw err;
      throw new DpodResponseError(err.message, {
        call,
        route,
        status: 200,
        bodyExcerpt: excerptOf(text),
        retryable: false,
        cause: err,
      });
    }
  }
}

/**
 * Builds an API path with each id percent-encoded as one path segment; null when an id cannot be one, so names
 * nothing upstream: "", "." and ".." would be resolved by the URL parser (`/v1/service_instances/..` is `/v1/`)
 * and DPoD would answer another endpoint; a lone surrogate has no UTF-8 form (encodeURIComponent throws).
 * Ids like "%2e" are safe: their "%" is encoded, so they stay literal.
 */
function idPath(strings: TemplateStringsArray, ...ids: string[]): string | null {
  if (ids.some((id) => id === '' || id === '.' || id === '..' || /\p{Cs}/u.test(id))) return null;
  return strings.reduce((path, part, i) => path + encodeURIComponent(ids[i - 1] ?? '') + part);
}

function checkPaging(params: { page: number; size: number }, call: string): void {
  if (
    !Number.isInteger(params.page) ||
    params.page < 0 ||
    !Number.isInteger(params.size) ||
    params.size < 1 ||
    params.size > MAX_PAGE_SIZE
  ) {
    throw new DpodRequestError(
      `page must be a whole number >= 0 and size 1..${MAX_PAGE_SIZE} (got page=${params.page}, size=${params.size})`,
      {
        call,
        route: call === 'listServicesPage' ? ROUTES.services : ROUTES.bindings,
        status: null,
        retryable: false,
      },
    );
  }
}

/** The text of a body's first chunk (enough for an error's excerpt); the rest is not read. */
async function firstChunkText(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  try {
    const first = await reader.read();
    return first.done ? '' : Buffer.from(first.value).toString('utf8');
  } catch {
    return '';
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Yields a body's chunks, failing with `stalled()` when one read waits longer than `idleMs`. The clock runs only
 * while the reader asks for more: a slow reader (backpressure) is not a stalled server.
 */
async function* idleLimited(
  body: WebReadableStream<Uint8Array>,
  idleMs: number,
  stalled: () => Error,
): AsyncGenerator<Buffer> {
  const reader = body.getReader();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(stalled()), idleMs);
      });
      try {
        const next = await Promise.race([reader.read(), idle]);
        if (next.done) return;
        yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
