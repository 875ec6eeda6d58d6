/**
 * Every error code this program shows: GraphQL `extensions.code`s, HTTP refusals (in the same GraphQL-shaped
 * body) and CLI exit messages. Per code: what it means, the HTTP status when it is one (`null`: the GraphQL
 * response is 200 with the error beside the data) and the CLI exit code when a command can end with it.
 * The names are part of the API contract: never rename one.
 */
export const ERROR_CODES = {
  // Raised by resolvers.
  BAD_USER_INPUT: { meaning: 'an argument is invalid; the message says which and why', httpStatus: null },
  INVALID_CURSOR: { meaning: 'a cursor this API did not issue, or an altered one', httpStatus: null },
  DPOD_UNAVAILABLE: { meaning: 'live DPoD data could not be read and no cached copy was left', httpStatus: null },
  // Live delivery (subscriptions): why a subscription ended before its client ended it.
  SUBSCRIBER_TOO_SLOW: {
    meaning: 'the subscriber fell more than SUBSCRIPTION_QUEUE_LIMIT committed batches behind and was cut off',
    httpStatus: null,
  },
  LIVE_FEED_INTERRUPTED: {
    meaning: "the server's database session for live delivery dropped: subscribe again and catch up with auditEvents",
    httpStatus: null,
  },
  TOKEN_EXPIRED: { meaning: 'the token a subscription was opened with has expired: subscribe again', httpStatus: null },
  // Query-shape limits, checked before execution (`extensions.limit` holds the configured value).
  QUERY_TOO_DEEP: { meaning: 'the query nests deeper than MAX_QUERY_DEPTH', httpStatus: 400 },
  QUERY_TOO_COMPLEX: {
    meaning: 'the query can return more nodes than MAX_QUERY_COST (docs/operations.md#the-cost-model)',
    httpStatus: 400,
  },
  TOO_MANY_ALIASES: { meaning: 'the query has more aliases than MAX_ALIASES', httpStatus: 400 },
  TOO_MANY_ROOT_FIELDS: { meaning: 'the query has more root fields than MAX_ROOT_FIELDS', httpStatus: 400 },
  PAGE_SIZE_EXCEEDED: { meaning: 'first/last is above MAX_PAGE_SIZE', httpStatus: 400 },
  // Raised while executing, from the database.
  STATEMENT_TIMEOUT: { meaning: 'a SQL statement ran past STATEMENT_TIMEOUT_MS', httpStatus: null },
  DATABASE_UNAVAILABLE: { meaning: 'PostgreSQL could not be reached or stopped answering', httpStatus: null },
  // Apollo Server's own codes for requests it cannot run.
  GRAPHQL_PARSE_FAILED: { meaning: 'the query is not valid GraphQL syntax', httpStatus: 400 },
  GRAPHQL_VALIDATION_FAILED: { meaning: 'the query does not match the schema', httpStatus: 400 },
  PERSISTED_QUERY_NOT_FOUND: { meaning: 'an automatic persisted query hash is unknown', httpStatus: null },
  PERSISTED_QUERY_NOT_SUPPORTED: { meaning: 'persisted queries are turned off', httpStatus: null },
  OPERATION_RESOLUTION_FAILURE: { meaning: 'operationName names no operation of the document', httpStatus: 400 },
  // The HTTP layer, before GraphQL runs.
  BAD_REQUEST: { meaning: 'the request is not a GraphQL request (empty or non-JSON body, bad URL)', httpStatus: 400 },
  BODY_TOO_LARGE: { meaning: 'the request body is above BODY_LIMIT_BYTES', httpStatus: 413 },
  UNSUPPORTED_MEDIA_TYPE: { meaning: 'a POST body that is not application/json', httpStatus: 415 },
  METHOD_NOT_ALLOWED: { meaning: 'a method the path does not take', httpStatus: 405 },
  NOT_FOUND: { meaning: 'no route or asset at this path', httpStatus: 404 },
  REQUEST_TIMEOUT: { meaning: 'the request took longer than REQUEST_TIMEOUT_MS', httpStatus: 503 },
  SHUTTING_DOWN: { meaning: 'the server is draining before it stops; retry on another instance', httpStatus: 503 },
  UNAUTHENTICATED: { meaning: 'no, a malformed or an invalid bearer token', httpStatus: 401 },
  FORBIDDEN: { meaning: 'a valid token that may not read this', httpStatus: 403 },
  INTERNAL_SERVER_ERROR: { meaning: 'a bug: details are in the server log under the request id', httpStatus: 500 },
  // How a command ends.
  CONFIG_INVALID: { meaning: 'an environment variable is missing or invalid', httpStatus: null, exitCode: 2 },
  USAGE: { meaning: 'bad command-line arguments', httpStatus: null, exitCode: 2 },
  INTERRUPTED: {
    meaning: 'SIGTERM/SIGINT stopped a command before its work was done',
    httpStatus: null,
    exitCode: 130,
  },
  COMMAND_FAILED: { meaning: 'the command could not do its work; the message says why', httpStatus: null, exitCode: 1 },
} as const satisfies Record<string, { meaning: string; httpStatus: number | null; exitCode?: number }>;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes that come with an HTTP status. */
export type HttpStatusCode = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['httpStatus'] extends number ? C : never;
}[ErrorCode];

/** Codes a command can end with. */
export type ExitErrorCode = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C] extends { exitCode: number } ? C : never;
}[ErrorCode];

/** The HTTP status of a code that has one. */
export function httpStatusOf(code: HttpStatusCode): number {
  return ERROR_CODES[code].httpStatus;
}

/** The process exit code of a code a command can end with. */
export function exitCodeOf(code: ExitErrorCode): number {
  return ERROR_CODES[code].exitCode;
}
