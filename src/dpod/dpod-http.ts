import { performance } from 'node:perf_hooks';
import { ConcurrencyLimiter } from './concurrency-limiter';
import {
  DpodAuthError,
  DpodError,
  DpodRequestError,
  DpodResponseError,
  DpodUnavailableError,
  excerptOf,
  type DpodFailureStatus,
} from './errors';
import { TokenProvider, type AccessToken } from './token-provider';
import type { DpodCallRecord } from './types';

/** Transport settings; every default is listed. */
export interface DpodHttpOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Per-attempt timeout until the response (and, except for downloads, its body) arrived (default 15000 ms). */
  timeoutMs?: number;
  /** Total time one call may take across retries (default 60000 ms). */
  deadlineMs?: number;
  /** Retries after the first attempt on network errors, timeouts, 5xx and 429 (default 6). */
  maxRetries?: number;
  /** First backoff delay; doubles per retry, with full jitter (default 200 ms). */
  retryBaseMs?: number;
  /** Longest backoff delay (default 5000 ms). */
  retryMaxMs?: number;
  /** Largest response body read into memory (downloads excepted); a larger one fails the call (default 32 MiB). */
  maxBodyBytes?: number;
  /** Requests in flight at once, across all calls (default 8). */
  concurrency?: number;
  /** Receives every attempt (route, status, duration). */
  onCall?: (call: DpodCallRecord) => void;
  /** Clock for token lifetimes, ms since epoch (default Date.now; tests share the simulator's). */
  clock?: () => number;
}

/** One logical call. */
export interface DpodHttpRequest {
  /** Client method name, for errors. */
  call: string;
  /** Templated route, for metrics and errors. */
  route: string;
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Attach `Authorization: Bearer` (and refresh once on 401); default true. */
  auth?: boolean;
  /** Statuses returned to the caller instead of thrown (e.g. 404). */
  passStatuses?: number[];
  /** Return the response with its body unread (downloads); the per-attempt timeout stops at the headers. */
  stream?: boolean;
  /** Error class for 4xx answers (default DpodRequestError). */
  clientErrorClass?: typeof DpodError;
}

/** A completed call. */
export interface DpodHttpResponse {
  status: number;
  headers: Headers;
  /** The body text (empty when `stream`). */
  text: string;
  /** The raw response (its body unread when `stream`). */
  response: Response;
  attempts: number;
}

/** A body's text, or null (and the rest left unread) when it is longer than `maxBytes`. */
async function readCapped(response: Response, maxBytes: number): Promise<string | null> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return null;
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks)); // as response.text(): a leading BOM is dropped
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Parses `Retry-After` (seconds or an HTTP date) into ms, or null. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/**
 * Executes DPoD HTTP calls: bearer tokens (one refresh on 401), per-attempt timeouts, retries with
 * exponential backoff and full jitter on network errors, timeouts, 5xx and 429 (honouring Retry-After),
 * a total deadline, a concurrency limit, and a record of every attempt.
 */
export class DpodHttp {
  readonly tokens: TokenProvider;
  private readonly limiter: ConcurrencyLimiter;
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: DpodHttpOptions) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.deadlineMs = options.deadlineMs ?? 60_000;
    this.maxRetries = options.maxRetries ?? 6;
    this.retryBaseMs = options.retryBaseMs ?? 200;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
    this.limiter = new ConcurrencyLimiter(options.concurrency ?? 8);
    this.tokens = new TokenProvider(() => this.fetchToken(), options.clock ?? Date.now);
  }

  /** Sends one logical call, retrying as configured; throws a {@link DpodError} subclass on failure. */
  async send(req: DpodHttpRequest): Promise<DpodHttpResponse> {
    const deadlineAt = Date.now() + this.deadlineMs;
    const useAuth = req.auth ?? true;
    let refreshed = false;
    let attempt = 0;
    let retries = 0;
    const unavailable = (message: string, status: DpodFailureStatus, bodyExcerpt: string | null, cause?: unknown) =>
      new DpodUnavailableError(message, {
        call: req.call,
        route: req.route,
        status,
        bodyExcerpt,
        retryable: true,
        attempts: attempt,
        cause,
      });

    for (;;) {
      attempt++;
      const remaining = deadlineAt - Date.now();
      if (remaining <= 0) throw unavailable(`deadline of ${this.deadlineMs} ms exceeded`, 'deadline', null);
      const token = useAuth ? await this.tokens.getToken() : null;
      const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
      if (token) headers.authorization = `Bearer ${token}`;

      const release = await this.limiter.acquire();
      const controller = new AbortController();
      const attemptTimeout = Math.min(this.timeoutMs, Math.max(1, deadlineAt - Date.now()));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, attemptTimeout);
      const started = performance.now();
      let response: Response;
      let text: string | null = '';
      try {
        response = await fetch(req.url, {
          method: req.method,
          headers,
          body: req.body,
          signal: controller.signal,
          redirect: 'follow',
        });
        if (!req.stream || !response.ok) text = await readCapped(response, this.maxBodyBytes);
      } catch (err) {
        clearTimeout(timer);
        release();
        const status = timedOut ? 'timeout' : 'network_error';
        this.record(req.route, status, started, attempt);
        const why = timedOut
          ? `no answer within ${attemptTimeout} ms`
          : `network error: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}`;
        if (retries >= this.maxRetries)
          throw unavailable(`${why}; gave up after ${attempt} attempt(s)`, status, null, err);
        const delay = this.backoff(retries++);
        if (Date.now() + delay >= deadlineAt)
          throw unavailable(`${why}; deadline of ${this.deadlineMs} ms reached`, status, null, err);
        await sleep(delay);
        continue;
      }
      // The timer stops here: a download's body may take longer than one attempt's timeout.
      clearTimeout(timer);
      release();
      this.record(req.route, response.status, started, attempt);
      const status = response.status;
      const answered = (status >= 200 && status < 300) || req.passStatuses?.includes(status);
      if (text === null) {
        // An error status is handled as usual, without an excerpt; an answer is useless unread.
        if (answered)
          throw new DpodResponseError(`response body larger than ${this.maxBodyBytes} bytes (not read further)`, {
            call: req.call,
            route: req.route,
            status,
            retryable: false,
            attempts: attempt,
          });
        text = '';
      }
      if (answered) {
        return { status, headers: response.headers, text, response, attempts: attempt };
      }
      const excerpt = excerptOf(text);
      if (status === 401 && useAuth && token) {
        this.tokens.invalidate(token);
        if (!refreshed) {
          refreshed = true;
          continue;
        }
        throw new DpodAuthError('the API refused a freshly issued token', {
          call: req.call,
          route: req.route,
          status,
          bodyExcerpt: excerpt,
          retryable: false,
          attempts: attempt,
        });
      }
      if (status === 429 || status >= 500 || status === 408) {
        if (retries >= this.maxRetries) throw unavailable(`gave up after ${attempt} attempt(s)`, status, excerpt);
        const retryAfter = status === 429 ? parseRetryAfter(response.headers.get('retry-after')) : null;
        const delay = retryAfter ?? this.backoff(retries);
        retries++;
        if (Date.now() + delay >= deadlineAt)
          throw unavailable(
            `deadline of ${this.deadlineMs} ms would pass before the next retry (in ${delay} ms)`,
            status,
            excerpt,
          );
        await sleep(delay);
        continue;
      }
      const ErrorClass = req.clientErrorClass ?? DpodRequestError;
      throw new ErrorClass('request refused', {
        call: req.call,
        route: req.route,
        status,
        bodyExcerpt: excerpt,
        retryable: false,
        attempts: attempt,
      });
    }
  }

  /** Full-jitter exponential backoff for the n-th retry (0-based). */
  private backoff(n: number): number {
    const ceiling = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** n);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private record(route: string, status: DpodCallRecord['status'], started: number, attempt: number): void {
    this.options.onCall?.({ route, status, durationMs: performance.now() - started, attempt });
  }

  /** OAuth2 client credentials: form body plus HTTP Basic with the same pair. */
  private async fetchToken(): Promise<AccessToken> {
    const { tokenUrl, clientId, clientSecret } = this.options;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    });
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const res = await this.send({
      call: 'getToken',
      route: 'POST /oauth/token',
      method: 'POST',
      url: tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: form.toString(),
      auth: false,
      clientErrorClass: DpodAuthError,
    });
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(res.text) as typeof body;
    } catch (err) {
      throw new DpodAuthError('token response is not JSON', {
        call: 'getToken',
        route: 'POST /oauth/token',
        status: res.status,
        bodyExcerpt: excerptOf(res.text),
        retryable: false,
        cause: err,
      });
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new DpodAuthError('token response has no access_token', {
        call: 'getToken',
        route: 'POST /oauth/token',
        status: res.status,
        bodyExcerpt: excerptOf(res.text),
        retryable: false,
      });
    }
    const expiresIn = Number(body.expires_in);
    const lifetimeS = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 300;
    return { token: body.access_token, expiresAtMs: (this.options.clock ?? Date.now)() + lifetimeS * 1000 };
  }
}
