import { GraphQLError } from 'graphql';

/**
 * The closed set of `extensions.code` values this API returns: the resolvers raise the first five; the
 * server adds the others (masked internal errors, statement timeouts, an unreachable database, Apollo's validation codes).
 */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'INVALID_CURSOR',
  'PAGE_SIZE_EXCEEDED',
  'DPOD_UNAVAILABLE',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'STATEMENT_TIMEOUT',
  'DATABASE_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'INTERNAL_SERVER_ERROR',
] as const;
/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A client-facing GraphQL error carrying one of the {@link ERROR_CODES}. */
export function apiError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extra, code } });
}

/** Bad arguments: the message says which and why. */
export function badInput(message: string, argument?: string): GraphQLError {
  return apiError('BAD_USER_INPUT', message, argument ? { argument } : {});
}

/** A cursor that this API did not issue (or that was altered). */
export function invalidCursor(argument: string): GraphQLError {
  return apiError(
    'INVALID_CURSOR',
    `${argument} is not a valid cursor: pass a cursor returned by this connection's pageInfo or edges, unchanged`,
    { argument },
  );
}

/** The upstream DPoD platform API failed and no cached copy was available. */
export function dpodUnavailable(detail: string): GraphQLError {
  return apiError(
    'DPOD_UNAVAILABLE',
    `Live DPoD data is unavailable (${detail}); audit data is still served, live fields are null`,
  );
}
