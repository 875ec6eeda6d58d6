import { unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { READ_TIMEOUT } from '../../db/connection';
import type { ErrorCode } from '../../error-codes';
import type { GraphqlErrorCode } from '../../graphql/errors';
import type { Logger } from '../../logger';

/** The code of every error whose details are hidden from clients. */
export const INTERNAL_ERROR_CODE = 'INTERNAL_SERVER_ERROR' satisfies ErrorCode;
const MASKED_MESSAGE = 'Internal server error. The details are in the server log under this request id.';

/** Apollo's own codes for bad requests: their messages describe the request, never the server. */
const APOLLO_CLIENT_CODES = new Set<string>([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
] satisfies GraphqlErrorCode[]);

/**
 * True when an error was raised on purpose for the client: a `GraphQLError` with a code, not wrapping a
 * plain `Error` (graphql-js wraps whatever a resolver throws; that message may carry SQL or internals).
 */
export function isClientError(error: unknown): boolean {
  const original = unwrapResolverError(error);
  if (!(original instanceof GraphQLError)) return false;
  const code = original.extensions?.code;
  if (typeof code === 'string' && APOLLO_CLIENT_CODES.has(code)) return true;
  // Apollo's own refusals without a code (a persisted query whose hash does not match its text) carry a 4xx status.
  const status = (original.extensions?.http as { status?: unknown } | undefined)?.status;
  if (code === undefined && !original.originalError && typeof status === 'number' && status >= 400 && status < 500)
    return true;
  if (typeof code !== 'string' || code === INTERNAL_ERROR_CODE) return false;
  return !(original.originalError && !(original.originalError instanceof GraphQLError));
}

/** PostgreSQL's SQLSTATE for a statement cancelled by `statement_timeout`. */
const QUERY_CANCELED = '57014';

/** True when `test` holds for the error a resolver threw or for one it wraps (`cause`, `originalError`; 5 deep). */
function anyCause(error: unknown, test: (e: { code?: unknown; message?: unknown }) => boolean): boolean {
  let current: unknown = unwrapResolverError(error);
  for (let depth = 0; current && depth < 5; depth++) {
    if (test(current)) return true;
    current =
      (current as { cause?: unknown; originalError?: unknown }).cause ??
      (current as { originalError?: unknown }).originalError;
  }
  return false;
}

/** True when the error (or one it wraps) is PostgreSQL cancelling a statement that ran past `statement_timeout`. */
export function isStatementTimeout(error: unknown): boolean {
  return anyCause(error, (e) => e.code === QUERY_CANCELED);
}

/** A message's closing suggestion, e.g. ` Did you mean "serviceIds"?` (graphql-js's wording). */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/**
 * How `pg` and the socket report that PostgreSQL could not be reached or stopped answering: connection refused or
 * cut, no answer within the client-side query timeout, no connection within the pool's wait, or the server shutting
 * down, starting up or out of connections (SQLSTATE 57P01, 57P02, 57P03, 53300).
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
const UNAVAILABLE_MESSAGES = new Set([
  READ_TIMEOUT,
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
]);

/** True when the error (or one it wraps) says PostgreSQL could not be reached or stopped answering. */
export function isDatabaseUnavailable(error: unknown): boolean {
  return anyCause(
    error,
    ({ code, message }) =>
      (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) ||
      (typeof message === 'string' && UNAVAILABLE_MESSAGES.has(message)),
  );
}

const UNAVAILABLE_MESSAGE =
  'The database did not answer or could not be reached; audit data is unavailable for now. Try again shortly.';

/**
 * Builds Apollo's `formatError`: client errors keep message, path, locations and extensions (never a stack
 * trace); a statement cancelled by `statement_timeout` becomes STATEMENT_TIMEOUT with its limit; PostgreSQL out of
 * reach or silent becomes DATABASE_UNAVAILABLE; anything else
 * becomes a generic INTERNAL_SERVER_ERROR (logged in full by {@link errorLoggingPlugin}). With `hideSuggestions`
 * (introspection off), client errors lose their "Did you mean ...?": Apollo drops it from validation errors only,
 * and invalid variables would still name the schema's enum values and input fields.
 */
export function createErrorMasker(
  statementTimeoutMs: number,
  options: { hideSuggestions?: boolean } = {},
): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  return (formatted, error) => {
    if (isClientError(error)) {
      const extensions = { ...formatted.extensions };
      delete extensions.stacktrace;
      delete extensions.exception;
      // A refusal Apollo raised without a code got INTERNAL_SERVER_ERROR from Apollo's formatting: it is the request's.
      const original = unwrapResolverError(error);
      if (original instanceof GraphQLError && original.extensions?.code === undefined) extensions.code = 'BAD_REQUEST';
      const message = options.hideSuggestions ? formatted.message.replace(SUGGESTION, '') : formatted.message;
      return { ...formatted, message, extensions };
    }
    const path = formatted.path ? { path: formatted.path } : {};
    if (isStatementTimeout(error)) {
      return {
        message: `A database statement ran past the limit of ${statementTimeoutMs} ms; narrow the filter or the time range.`,
        ...path,
        extensions: { code: 'STATEMENT_TIMEOUT' satisfies ErrorCode, limit: statementTimeoutMs },
      };
    }
    if (isDatabaseUnavailable(error))
      return {
        message: UNAVAILABLE_MESSAGE,
        ...path,
        extensions: { code: 'DATABASE_UNAVAILABLE' satisfies ErrorCode },
      };
    return { message: MASKED_MESSAGE, ...path, extensions: { code: INTERNAL_ERROR_CODE } };
  };
}

/** Logs every masked error with its request id and stack, and puts the request id on masked errors. */
export function errorLoggingPlugin<TContext extends { requestId: string }>(
  logger: Logger,
): ApolloServerPlugin<TContext> {
  return {
    requestDidStart() {
      return Promise.resolve({
        didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            if (isStatementTimeout(error)) {
              logger.warn(
                { requestId: contextValue.requestId, operationName, path: error.path },
                'SQL statement cancelled by statement_timeout',
              );
            } else if (isClientError(error)) {
              logger.debug(
                { requestId: contextValue.requestId, operationName, code: error.extensions?.code, msg: error.message },
                'client error',
              );
            } else if (isDatabaseUnavailable(error)) {
              logger.warn(
                {
                  requestId: contextValue.requestId,
                  operationName,
                  path: error.path,
                  reason: (original as Error).message,
                },
                'PostgreSQL unreachable or not answering',
              );
            } else {
              logger.error(
                { requestId: contextValue.requestId, operationName, path: error.path, err: original },
                'internal error in GraphQL request',
              );
            }
          }
          return Promise.resolve();
        },
        willSendResponse({ response, contextValue }) {
          if (response.body.kind === 'single')
            for (const error of response.body.singleResult.errors ?? []) {
              if (error.extensions?.code === INTERNAL_ERROR_CODE)
                (error.extensions as Record<string, unknown>).requestId = contextValue.requestId;
            }
          return Promise.resolve();
        },
      });
    },
  };
}
