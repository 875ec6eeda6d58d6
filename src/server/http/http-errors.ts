import type { ServerResponse } from 'node:http';
import { httpStatusOf, type HttpStatusCode } from '../../error-codes';

/** Codes of requests refused by the HTTP layer before GraphQL runs; the status comes from the registry. */
export type HttpErrorCode = Extract<
  HttpStatusCode,
  | 'BODY_TOO_LARGE'
  | 'BAD_REQUEST'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_FOUND'
  | 'REQUEST_TIMEOUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'SHUTTING_DOWN'
  | 'INTERNAL_SERVER_ERROR'
>;

/** A request refused with its code's status (from `ERROR_CODES`) and a GraphQL-shaped JSON error. */
export class HttpError extends Error {
  readonly status: number;

  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = httpStatusOf(code);
  }
}

/** Writes `{ errors: [{ message, extensions: { code, ... } }] }` with the error's status and headers. */
export function sendHttpError(res: ServerResponse, error: HttpError, requestId?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    errors: [
      {
        message: error.message,
        extensions: { code: error.code, ...error.extensions, ...(requestId ? { requestId } : {}) },
      },
    ],
  });
  res.writeHead(error.status, {
    ...error.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
