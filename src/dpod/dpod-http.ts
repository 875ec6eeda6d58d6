import { performance } from 'node:perf_hooks';
import {
  BrokenCircuitError,
  bulkhead,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  handleType,
  handleWhen,
  retry,
  timeout,
  TimeoutStrategy,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
} from 'cockatiel';
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
  /** Requests in flight at once, across all calls (default 8); later ones wait in FIFO order. */
  concurrency?: number;
  /**
   * After a call gave up (DPoD down through all its retries) the circuit opens: calls then wait for one probe, a
   * single attempt made at most this long after the last failure, and share its outcome (default 250 ms).
   */
  breakerHalfOpenMs?: number;
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
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
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

/** An attempt DPoD failed in a way worth retrying; counted by the circuit breaker. */
class TransientAttempt extends Error {
  constructor(
    readonly status: DpodFailureStatus,
    readonly why: string,
    readonly response: Response | null,
    readonly text: string,
    cause?: unknown,
  ) {
    super(why, { cause });
  }
}

/** What one attempt brought back: an answer (any status not worth retrying) and its body text, null when too large. */
interface AttemptResult {
  response: Response;
  text: string | null;
}

/** Parses `Retry-After` (seconds or an HTTP date) into ms, or null. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/** How long past `breakerHalfOpenMs` a call the open circuit refused waits before it tries again. */
const HALF_OPEN_MARGIN_MS = 20;

/**
 * Executes DPoD HTTP calls on cockatiel's policies: bearer tokens (one refresh on 401), a per-attempt timeout
 * (`timeout`, cooperative), retries (`retry`) with exponential backoff and full jitter on network errors,
 * timeouts, 5xx and 429 (honouring Retry-After), a total deadline that refuses a retry whose delay would end past
 * it, a concurrency limit (`bulkhead`), a circuit breaker (`circuitBreaker`) that stops retrying while DPoD is
 * failing and probes it again soon, and a record of every attempt.
 */
export class DpodHttp {
  readonly tokens: TokenProvider;
  private readonly limiter: BulkheadPolicy;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly halfOpenMs: number;
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
    const concurrency = options.concurrency ?? 8;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`concurrency must be a whole number >= 1, got ${concurrency}`);
    this.limiter = bulkhead(concurrency, Infinity);
    this.halfOpenMs = options.breakerHalfOpenMs ?? 250;
    this.breaker = circuitBreaker(handleType(DpodUnavailableError), {
      halfOpenAfter: this.halfOpenMs,
      breaker: new ConsecutiveBreaker(1),
    });
    this.tokens = new TokenProvider(() => this.fetchToken(), options.clock ?? Date.now);
  }

  /**
   * Sends one logical call, retrying as configured; throws a {@link DpodError} subclass on failure. While the
   * circuit is open (a call gave up), a call waits for the next probe (at most `breakerHalfOpenMs`), one single
   * attempt, instead of its own retries: the first request after DPoD is back sees it, and while DPoD is down
   * none waits out the retries.
   */
  async send(req: DpodHttpRequest): Promise<DpodHttpResponse> {
    const run = () =>
      this.breaker.execute(() => this.sendWithRetries(req, this.breaker.state === CircuitState.Closed ? null : 0));
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof BrokenCircuitError)) throw err;
      // A little past the half-open time: a timer may fire a millisecond before the breaker's clock says it is due.
      await sleep(this.halfOpenMs + HALF_OPEN_MARGIN_MS);
      try {
        return await run();
      } catch (again) {
        if (!(again instanceof BrokenCircuitError)) throw again;
        throw new DpodUnavailableError('DPoD keeps failing (circuit open: the last probe failed)', {
          call: req.call,
          route: req.route,
          status: 'circuit_open',
          retryable: true,
          attempts: 0,
          cause: again,
        });
      }
    }
  }

  /** {@link send} without the circuit breaker; `maxRetries` overrides the configured count (0 for a probe). */
  private async sendWithRetries(req: DpodHttpRequest, maxRetries: number | null): Promise<DpodHttpResponse> {
    const retryLimit = maxRetries ?? this.maxRetries;
    const deadlineAt = Date.now() + this.deadlineMs;
    const useAuth = req.auth ?? true;
    let attempt = 0;
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
    // cockatiel retries a transient attempt after the delay the filter worked out (Retry-After on a 429, else
    // full-jitter exponential); the filter declines a retry whose delay would end past the deadline.
    let retries = 0;
    let nextDelay = 0;
    let pastDeadline = false;
    const policy = retry(
      handleWhen((err) => {
        if (!(err instanceof TransientAttempt)) return false;
        if (retries >= retryLimit) return true; // cockatiel gives up: no retries left
        const retryAfter =
          err.status === 429 ? parseRetryAfter(err.response?.headers.get('retry-after') ?? null) : null;
        nextDelay = retryAfter ?? this.backoff(retries);
        pastDeadline = Date.now() + nextDelay >= deadlineAt;
        if (!pastDeadline) retries++;
        return !pastDeadline;
      }),
      { maxAttempts: retryLimit, backoff: new DelegateBackoff(() => nextDelay) },
    );
    const attemptOnce = async (token: string | null): Promise<AttemptResult> => {
      attempt++;
      const remaining = deadlineAt - Date.now();
      if (remaining <= 0) throw unavailable(`deadline of ${this.deadlineMs} ms exceeded`, 'deadline', null);
      const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
      if (token) headers.authorization = `Bearer ${token}`;
      const attemptMs = Math.min(this.timeoutMs, Math.max(1, remaining));
      // A download's body may take longer than one attempt's timeout: the signal is left alone once headers came.
      const limit = timeout(attemptMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
      return this.limiter.execute(() =>
        limit.execute(({ signal }) => this.attempt(req, headers, signal, attemptMs, attempt)),
      );
    };

    for (let refreshed = false; ; refreshed = true) {
      const token = useAuth ? await this.tokens.getToken() : null;
      let result: AttemptResult;
      try {
        result = await policy.execute(() => attemptOnce(token));
      } catch (err) {
        if (!(err instanceof TransientAttempt)) throw err;
        const excerpt = err.response ? excerptOf(err.text) : null;
        if (pastDeadline)
          throw unavailable(
            `${err.why}; deadline of ${this.deadlineMs} ms would pass before the next retry (in ${nextDelay} ms)`,
            err.status,
            excerpt,
            err.cause,
          );
        throw unavailable(`${err.why}; gave up after ${attempt} attempt(s)`, err.status, excerpt, err.cause);
      }
      const { response } = result;
      let { text } = result;
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
      if (answered) return { status, headers: response.headers, text, response, attempts: attempt };
      const excerpt = excerptOf(text);
      if (status === 401 && useAuth && token) {
        this.tokens.invalidate(token);
        if (!refreshed) continue;
        throw new DpodAuthError('the API refused a freshly issued token', {
          call: req.call,
          route: req.route,
          status,
          bodyExcerpt: excerpt,
          retryable: false,
          attempts: attempt,
        });
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

  /** One HTTP attempt, cancelled by `signal` (the per-attempt timeout); throws {@link TransientAttempt} for an outcome worth retrying. */
  private async attempt(
    req: DpodHttpRequest,
    headers: Record<string, string>,
    signal: AbortSignal,
    timeoutMs: number,
    attempt: number,
  ): Promise<AttemptResult> {
    const started = performance.now();
    let response: Response;
    let text: string | null = '';
    try {
      response = await fetch(req.url, { method: req.method, headers, body: req.body, signal, redirect: 'follow' });
      if (!req.stream || !response.ok) text = await readCapped(response, this.maxBodyBytes);
    } catch (err) {
      const status = signal.aborted ? 'timeout' : 'network_error';
      this.record(req.route, status, started, attempt);
      const why = signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : `network error: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}`;
      throw new TransientAttempt(status, why, null, '', err);
    }
    this.record(req.route, response.status, started, attempt);
    const status = response.status;
    if (status === 429 || status >= 500 || status === 408)
      throw new TransientAttempt(status, `HTTP ${status}`, response, text ?? '');
    return { response, text };
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
    // Not through the breaker: a token is fetched inside a call that already went through it.
    const res = await this.sendWithRetries(
      {
        call: 'getToken',
        route: 'POST /oauth/token',
        method: 'POST',
        url: tokenUrl,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
        body: form.toString(),
        auth: false,
        clientErrorClass: DpodAuthError,
      },
      null,
    );
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
