import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap } from '@apollo/server';
import type { GraphqlEngine } from '../apollo/apollo-server';
import type { Metrics } from '../metrics/metrics';
import { runFastLane } from './fast-lane';
import { HttpError } from './http-errors';
import { parseJsonBody, readBody } from './request-body';

/** Options for {@link handleGraphqlRequest}. */
export interface GraphqlRequestOptions<TContext extends object> {
  engine: GraphqlEngine<TContext>;
  metrics: Metrics;
  bodyLimitBytes: number;
  /** Builds the per-request context (called once, after authentication). */
  context: () => Promise<TContext>;
  /** Set when the request times out: the response is then left to the caller. */
  signal: TimeoutFlag;
}

/** Whether a request ran past its time limit (its 503 has then been sent). */
export interface TimeoutFlag {
  aborted: boolean;
}

/** Runs one GET or POST `/graphql` request (a known query through the fast lane, else Apollo Server) and writes its response. */
export async function handleGraphqlRequest<TContext extends object>(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  extraHeaders: Record<string, string>,
  options: GraphqlRequestOptions<TContext>,
): Promise<void> {
  const method = req.method ?? 'GET';
  let body: unknown = undefined;
  let context = options.context;
  if (method === 'POST') {
    body = parseJsonBody(await readBody(req, options.bodyLimitBytes), req.headers['content-type']);
    const outcome = await runFastLane(req, res, body, extraHeaders, options);
    options.metrics.graphqlFastLane.inc({ outcome: outcome.kind });
    if (outcome.kind === 'answered') return;
    if (outcome.kind === 'held') {
      const held = outcome.context as TContext;
      context = () => Promise.resolve(held);
    }
  }
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const response = await options.engine.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method, headers, search: url.search, body },
    context,
  });
  if (options.signal.aborted) return;
  // GraphQL answers depend on the caller and on live data: never cached (no field has a cache hint).
  const outHeaders: Record<string, string> = { ...extraHeaders, 'cache-control': 'no-store' };
  for (const [name, value] of response.headers) outHeaders[name] = value;
  if (response.body.kind === 'complete') {
    // Encoded once: its length is the Content-Length, and the socket writes the bytes as they are.
    const bytes = Buffer.from(response.body.string, 'utf8');
    outHeaders['content-length'] = String(bytes.length);
    res.writeHead(response.status ?? 200, outHeaders);
    res.end(bytes);
    return;
  }
  res.writeHead(response.status ?? 200, outHeaders);
  for await (const chunk of response.body.asyncIterator) {
    if (options.signal.aborted) break;
    res.write(chunk);
  }
  res.end();
}

/** Thrown by the HTTP layer when GraphQL is asked for with an unsupported method. */
export const methodNotAllowed = (): HttpError =>
  new HttpError('METHOD_NOT_ALLOWED', 'Use GET or POST on /graphql.', {}, { allow: 'GET, POST, OPTIONS' });
