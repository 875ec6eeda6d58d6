import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphqlEngine } from '../apollo/apollo-server';
import type { Metrics } from '../metrics/metrics';
import type { TimeoutFlag } from './graphql-http';

/** What the fast lane did with a request. */
export type FastLaneOutcome =
  /** Answered: the response is written. */
  | { kind: 'answered' }
  /** Not for the fast lane: Apollo answers it from scratch. */
  | { kind: 'apollo' }
  /** Run, with errors to format: Apollo answers with this context, whose result is held for its executor. */
  | { kind: 'held'; context: object };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Runs a POST `/graphql` request whose exact text Apollo has already run and compiled, without Apollo's per-request
 * pipeline: the body's shape checked as Apollo checks it, the limits applied with the shared enforcer, the context
 * built, the compiled operation run, and `{"data":...}` written as Apollo writes it (JSON.stringify and a newline),
 * with the content type Apollo would negotiate, and the operation's latency recorded under the same metric labels.
 * Every other case returns to Apollo (see PreparedOperations), so the answer is the same either way; a test compares
 * the two byte for byte.
 */
export async function runFastLane<TContext extends object>(
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  extraHeaders: Record<string, string>,
  options: {
    engine: GraphqlEngine<TContext>;
    metrics: Metrics;
    context: () => Promise<TContext>;
    signal: TimeoutFlag;
  },
): Promise<FastLaneOutcome> {
  const started = process.hrtime.bigint();
  if (!isRecord(body) || typeof body.query !== 'string') return { kind: 'apollo' };
  const { operationName, variables, extensions } = body;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string')
    return { kind: 'apollo' };
  if (variables !== undefined && variables !== null && !isRecord(variables)) return { kind: 'apollo' };
  if (extensions !== undefined && extensions !== null && (!isRecord(extensions) || 'persistedQuery' in extensions))
    return { kind: 'apollo' };
  const { prepared: registry, operationLabel } = options.engine;
  const prepared = registry.lookup(body.query, operationName);
  // A name must be the operation's own (Apollo refuses any other, the empty name included).
  if (!prepared || (operationName != null && operationName !== prepared.operation.name?.value))
    return { kind: 'apollo' };
  const contentType = registry.contentType(req.headers.accept);
  const values = variables ?? {};
  if (contentType === null || !registry.admits(prepared, values)) return { kind: 'apollo' };
  let context: TContext;
  try {
    context = await options.context();
  } catch {
    // Apollo builds the context again and reports its failure as it always does.
    return { kind: 'apollo' };
  }
  const result = await prepared.compiled.query(undefined, context, values);
  // No `data`: the variables were refused before execution, which graphql-js words (Apollo runs it uncompiled).
  if (result.data === undefined) return { kind: 'apollo' };
  const unconfirmed = (context as { unconfirmedAnswers?: unknown[] }).unconfirmedAnswers;
  const labels = { operation: operationLabel(prepared.operation.name?.value), type: 'query' };
  if (result.errors?.length || (unconfirmed && unconfirmed.length > 0)) {
    // Apollo's metrics plugin times the request from here, not from when Apollo got it.
    registry.hold(context, result, started);
    return { kind: 'held', context };
  }
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  if (options.signal.aborted) {
    options.metrics.graphqlOperationDuration.observe(labels, seconds());
    return { kind: 'answered' };
  }
  const bytes = Buffer.from(JSON.stringify({ data: result.data }) + '\n', 'utf8');
  res.writeHead(200, {
    ...extraHeaders,
    'cache-control': 'no-store',
    'content-type': contentType,
    'content-length': String(bytes.length),
  });
  res.end(bytes);
  options.metrics.graphqlOperationDuration.observe(labels, seconds());
  return { kind: 'answered' };
}
