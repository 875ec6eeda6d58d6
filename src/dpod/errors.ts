/** Status of a failed DPoD call: an HTTP status, or what went wrong before one arrived. */
export type DpodFailureStatus = number | 'network_error' | 'timeout' | 'deadline' | 'circuit_open' | null;

/** Details of a DPoD failure. */
export interface DpodErrorDetails {
  /** The client method that failed, e.g. `listServicesPage`. */
  call: string;
  /** Templated route, e.g. `GET /v1/service_instances/{id}`. */
  route: string;
  status: DpodFailureStatus;
  /** The first few hundred characters of the response body, when there was one. */
  bodyExcerpt?: string | null;
  /** True when trying again later may succeed. */
  retryable: boolean;
  /** Attempts made (1 = no retry). */
  attempts?: number;
  cause?: unknown;
}

/** Base of every error the DPoD client throws: says which call failed, with status and a body excerpt. */
export class DpodError extends Error {
  readonly call: string;
  readonly route: string;
  readonly status: DpodFailureStatus;
  readonly bodyExcerpt: string | null;
  readonly retryable: boolean;
  readonly attempts: number;

  constructor(message: string, details: DpodErrorDetails) {
    const excerpt = details.bodyExcerpt ? `: ${details.bodyExcerpt}` : '';
    const status = details.status === null ? '' : ` (${details.status})`;
    super(
      `DPoD ${details.call} [${details.route}] failed${status}: ${message}${excerpt}`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = new.target.name;
    this.call = details.call;
    this.route = details.route;
    this.status = details.status;
    this.bodyExcerpt = details.bodyExcerpt ?? null;
    this.retryable = details.retryable;
    this.attempts = details.attempts ?? 1;
  }
}

/** DPoD could not be reached or kept failing (network errors, timeouts, 5xx, 429) until retries or the deadline ran out. */
export class DpodUnavailableError extends DpodError {}

/** Authentication failed: the token endpoint refused the credentials, or the API kept answering 401. */
export class DpodAuthError extends DpodError {}

/** DPoD refused the request (4xx other than 401/429), e.g. a bad export window or a refused signed URL. */
export class DpodRequestError extends DpodError {}

/** DPoD answered with a body the client cannot read. */
export class DpodResponseError extends DpodError {}

/** An export job ended FAILED or CANCELLED, or did not finish in time. */
export class DpodExportError extends DpodError {
  constructor(
    message: string,
    details: DpodErrorDetails,
    readonly jobId: string,
    readonly state: string | null,
  ) {
    super(message, details);
  }
}

/** Cuts a body to a short single-line excerpt for error messages. */
export function excerptOf(text: string, max = 300): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}
