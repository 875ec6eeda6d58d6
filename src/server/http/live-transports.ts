import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  OperationTypeNode,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { createHandler as createSseHandler } from 'graphql-sse';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { MAX_QUERY_TOKENS } from '../apollo/apollo-server';
import { createErrorMasker } from '../apollo/error-masking';
import { createQueryLimitsEnforcer } from '../apollo/query-limits';
import { AuthError, type AuthScope, type Authenticator } from '../auth/authenticator';

/** WebSocket close code for a subscriber cut off for reading too slowly (docs/live-delivery.md). */
export const CLOSE_TOO_SLOW = 4413;

/** Messages an SSE stream may have written ahead of the socket before its subscription waits (backpressure). */
const SSE_AHEAD = 8;

/** What a subscription's context must offer the transport: a way to be told it was cut off. */
export interface LiveContext extends Record<PropertyKey, unknown> {
  requestId: string;
  /** Set by the transport: called when the hub cuts the subscription off (the transport then closes). */
  onCutOff?: (code: string, message: string) => void;
}

export interface LiveTransportOptions<TContext extends LiveContext> {
  schema: GraphQLSchema;
  limits: Config['limits'];
  authenticate: Authenticator;
  createContext(input: { requestId: string; auth: AuthScope }): Promise<TContext> | TContext;
  logger: Logger;
}

/** Both subscription transports of `/graphql`: graphql-ws over WebSocket upgrades, and graphql-sse. */
export interface LiveTransports {
  /** Accepts WebSocket upgrades on `/graphql` (other paths are refused). */
  attach(server: Server): void;
  /** True for a request the SSE transport takes (`Accept: text/event-stream`). */
  wantsSse(req: IncomingMessage): boolean;
  /** Serves one graphql-sse request (distinct connections mode), already authenticated. */
  serveSse(req: IncomingMessage, res: ServerResponse, auth: AuthScope, requestId: string, body: unknown): Promise<void>;
  /** Closes every WebSocket (1001) and ends every SSE stream. */
  close(): Promise<void>;
}

interface Prepared {
  document: DocumentNode;
  variables: Record<string, unknown>;
  operationName: string | undefined;
}

function clientError(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/**
 * Creates the transports. Both run the same checks as a query over HTTP: the token (at connection init for
 * WebSockets, per request for SSE), parse and validation (introspection as configured), the query-shape limits and
 * error masking; and only subscriptions go this way (queries and mutations: POST /graphql).
 */
export function createLiveTransports<TContext extends LiveContext>(
  options: LiveTransportOptions<TContext>,
): LiveTransports {
  const { schema, limits, logger } = options;
  const enforce = createQueryLimitsEnforcer(limits);
  const mask = createErrorMasker(limits.statementTimeoutMs, { hideSuggestions: !limits.introspection });
  const rules = limits.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  const sseStreams = new Set<ServerResponse>();

  function prepare(query: unknown, operationName: unknown, rawVariables: unknown): Prepared | readonly GraphQLError[] {
    if (typeof query !== 'string' || query.length === 0)
      return [clientError('BAD_REQUEST', 'The subscription needs a query (a GraphQL document).')];
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: MAX_QUERY_TOKENS });
    } catch (err) {
      return [clientError('GRAPHQL_PARSE_FAILED', (err as Error).message)];
    }
    const invalid = validate(schema, document, rules);
    if (invalid.length > 0) return invalid.map((e) => clientError('GRAPHQL_VALIDATION_FAILED', e.message));
    const name = typeof operationName === 'string' ? operationName : undefined;
    const operation = getOperationAST(document, name);
    if (!operation)
      return [clientError('OPERATION_RESOLUTION_FAILURE', 'The document names no single operation to run.')];
    if (operation.operation !== OperationTypeNode.SUBSCRIPTION)
      return [
        clientError(
          'BAD_REQUEST',
          `This transport runs subscriptions only: send ${operation.operation === OperationTypeNode.QUERY ? 'queries' : 'mutations'} as POST /graphql.`,
        ),
      ];
    const variables = rawVariables && typeof rawVariables === 'object' ? (rawVariables as Record<string, unknown>) : {};
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 1 });
    if (coerced.errors) return coerced.errors.map((e) => clientError('BAD_USER_INPUT', e.message));
    try {
      enforce(schema, document, operation, coerced.coerced);
    } catch (err) {
      if (err instanceof GraphQLError) return [err];
      throw err;
    }
    return { document, variables, operationName: name };
  }

  const formatResult = (result: ExecutionResult): FormattedExecutionResult =>
    result.errors ? { ...result, errors: result.errors.map((e) => mask(e.toJSON(), e)) } : result;

  // --- graphql-ws ---------------------------------------------------------------------------------------------------
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  type WsExtra = { socket: WebSocket; request: IncomingMessage; auth?: AuthScope };
  const wsServer = useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      async onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        const fromParams = params.authorization ?? params.Authorization;
        const header = typeof fromParams === 'string' ? fromParams : ctx.extra.request.headers.authorization;
        try {
          ctx.extra.auth = await options.authenticate(header);
          return true;
        } catch (err) {
          if (!(err instanceof AuthError)) throw err;
          ctx.extra.socket.close(
            err.status === 401 ? CloseCode.Unauthorized : CloseCode.Forbidden,
            `${err.code}: ${err.message}`.slice(0, 120),
          );
          return false;
        }
      },
      async onSubscribe(ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> {
        const prepared = prepare(payload.query, payload.operationName, payload.variables);
        if (Array.isArray(prepared)) return prepared as readonly GraphQLError[];
        const { document, variables, operationName } = prepared as Prepared;
        const contextValue = await options.createContext({ requestId: randomUUID(), auth: ctx.extra.auth! });
        const socket = ctx.extra.socket;
        contextValue.onCutOff = (code, message) => {
          logger.warn({ requestId: contextValue.requestId, code }, 'live delivery: WebSocket subscriber cut off');
          // The socket is the slow part: the error and the close frame queue behind what it has not read, and a
          // socket that takes none of it within 5 s is dropped.
          socket.send(JSON.stringify({ id, type: 'error', payload: [{ message, extensions: { code } }] }));
          socket.close(CLOSE_TOO_SLOW, code);
          setTimeout(() => socket.terminate(), 5_000).unref();
        };
        return { schema, document, variableValues: variables, operationName, contextValue };
      },
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => mask(e.toJSON(), e)),
    },
    wss,
  );

  // --- graphql-sse (distinct connections mode) ----------------------------------------------------------------------
  interface Flow {
    written: number;
    produced: number;
    waiter: (() => void) | null;
  }
  interface SseContext {
    auth: AuthScope;
    requestId: string;
    flow: Flow;
    res: ServerResponse;
  }
  const sse = createSseHandler<IncomingMessage, SseContext, TContext>({
    schema,
    onSubscribe(req, params) {
      const prepared = prepare(params.query, params.operationName, params.variables);
      // Refused before it starts: a plain 400 with the errors, as POST /graphql answers a bad query.
      if (Array.isArray(prepared))
        return [
          JSON.stringify({ errors: (prepared as readonly GraphQLError[]).map((e) => mask(e.toJSON(), e)) }),
          { status: 400, statusText: 'Bad Request', headers: { 'content-type': 'application/json; charset=utf-8' } },
        ];
      const { document, variables, operationName } = prepared as Prepared;
      return (async () => {
        const contextValue = await options.createContext({ requestId: req.context.requestId, auth: req.context.auth });
        const res = req.context.res;
        contextValue.onCutOff = (code, message) => {
          logger.warn({ requestId: contextValue.requestId, code }, 'live delivery: SSE subscriber cut off');
          res.write(`event: next\ndata: ${JSON.stringify({ errors: [{ message, extensions: { code } }] })}\n\n`);
          res.end('event: complete\ndata:\n\n');
          setTimeout(() => res.destroy(), 5_000).unref();
        };
        return { schema, document, variableValues: variables, operationName, contextValue };
      })();
    },
    async onNext(_ctx, req, result) {
      // graphql-sse reads the next result as soon as it queued this one: wait until the socket took what was written,
      // so a slow reader holds the subscription's own bounded queue instead of an unbounded one here.
      const flow = req.context.flow;
      flow.produced++;
      while (flow.produced - flow.written > SSE_AHEAD && !req.context.res.destroyed)
        await new Promise<void>((resolve) => (flow.waiter = resolve));
      return formatResult(result as ExecutionResult) as ExecutionResult;
    },
  });

  return {
    attach(server) {
      server.on('upgrade', (req, socket, head) => {
        const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
        if (path !== '/graphql') {
          socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      });
    },
    wantsSse(req) {
      return /text\/event-stream/i.test(req.headers.accept ?? '');
    },
    async serveSse(req, res, auth, requestId, body) {
      const flow: Flow = { written: 0, produced: 0, waiter: null };
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      const [stream, init] = await sse({
        method: req.method ?? 'GET',
        url: req.url ?? '/graphql',
        headers: { get: (name: string) => headers[name.toLowerCase()] ?? null },
        body: body === undefined ? null : (body as Record<string, unknown>),
        raw: req,
        context: { auth, requestId, flow, res },
      });
      res.writeHead(init.status, init.statusText, { ...init.headers, 'x-request-id': requestId });
      if (!stream || typeof stream === 'string') {
        res.end(stream ?? undefined);
        return;
      }
      sseStreams.add(res);
      const stop = () => {
        void stream.return?.(undefined);
        flow.waiter?.();
      };
      res.once('close', stop);
      try {
        for await (const chunk of stream) {
          if (res.destroyed || res.writableEnded) break;
          await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
          flow.written++;
          const wake = flow.waiter;
          flow.waiter = null;
          wake?.();
        }
      } finally {
        res.off('close', stop);
        sseStreams.delete(res);
        if (!res.writableEnded) res.end();
      }
    },
    async close() {
      for (const res of sseStreams) res.end();
      sseStreams.clear();
      await wsServer.dispose();
    },
  };
}
