import { GraphQLError } from 'graphql';
import type { ErrorCode } from '../error-codes';

/**
 * The `extensions.code`s of GraphQL errors, drawn from the one registry (`ERROR_CODES` in src/error-codes.ts): the resolvers raise
 * the first ones; the server adds the others (query limits, masked internal errors, statement timeouts, an
 * unreachable database, Apollo's validation codes).
 */
export const GRAPHQL_ERROR_CODES = [
  'BAD_USER_INPUT',
  'INVALID_CURSOR',
  'PAGE_SIZE_EXCEEDED',
  'DPOD_UNAVAILABLE',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COMPLEX',
  'TOO_MANY_ALIASES',
  'TOO_MANY_ROOT_FIELDS',
  'STATEMENT_TIMEOUT',
  'DATABASE_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'SUBSCRIBER_TOO_SLOW',
  'LIVE_FEED_INTERRUPTED',
  'TOKEN_EXPIRED',
  'SHUTTING_DOWN',
  'INTERNAL_SERVER_ERROR',
] as const satisfies readonly ErrorCode[];
/** One of {@link GRAPHQL_ERROR_CODES}. */
export type GraphqlErrorCode = (typeof GRAPHQL_ERROR_CODES)[number];

/** A client-facing GraphQL error carrying one of the {@link GRAPHQL_ERROR_CODES}. */
export function apiError(code: GraphqlErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
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
