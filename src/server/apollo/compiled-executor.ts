import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  execute,
  GraphQLError,
  printSchema,
  Source,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { PreparedOperations } from './prepared-operations';

/** Compiles one operation (graphql-jit's `compileQuery`; replaceable to observe it in tests). */
export type Compile = (
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string,
) => CompiledQuery | ExecutionResult;

/** Compiled operations kept (least recently used dropped first). */
const MAX_COMPILED = 500;

/**
 * The same error as graphql-js would raise it: graphql-jit's errors can lack `extensions` (read-only there),
 * which Apollo's error formatting expects on every error. Message, path, locations and cause are kept.
 */
function asGraphqlJsError(error: GraphQLError, text: string): GraphQLError {
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const positions = (error.locations ?? []).map((l) => (lineStarts[l.line - 1] ?? 0) + l.column - 1);
  return new GraphQLError(error.message, {
    source: positions.length > 0 ? new Source(text) : undefined,
    positions: positions.length > 0 ? positions : undefined,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: {},
  });
}

/** Compiling an operation costs a few ms of CPU: only operations seen this often are compiled. */
const COMPILE_AFTER = 2;

/**
 * Executes operations through graphql-jit: an operation that comes back is compiled once into a function
 * specialised to its selection, which resolves and serializes an event page several times faster than
 * graphql-js walking the selection for every field of every event. An operation's first run, anything
 * graphql-jit cannot compile, and any request whose variables it refuses run on graphql-js, so that
 * one-off queries do not pay for compiling and bad input gets graphql-js's exact BAD_USER_INPUT errors.
 *
 * Apollo Server only lets a custom executor in through its gateway interface: it still parses, validates,
 * runs every plugin hook (limits, metrics, error masking) and formats the response; only execution moves.
 */
export function compiledExecutionGateway(
  schema: GraphQLSchema,
  compile: Compile = compileQuery,
  prepared?: PreparedOperations,
): GatewayInterface {
  // Per operation: how often it ran uncompiled, or its compiled form (null: graphql-jit cannot compile it).
  const operations = new Map<string, number | CompiledQuery | null>();
  const withJsErrors = (result: ExecutionResult, text: string): ExecutionResult => {
    if (result.errors) result.errors = result.errors.map((e) => (e.extensions ? e : asGraphqlJsError(e, text)));
    return result;
  };

  const executor: GatewayExecutor = async (rc) => {
    // The fast lane already ran this request and found errors in its result: Apollo formats that result, unrun again.
    const held = prepared?.take(rc.context);
    if (held) return withJsErrors(held, rc.source);
    // The name the request asked for: Apollo's `rc.operationName` is the resolved operation's (null when the name
    // matches none), and executing under it would run the document's only operation instead of refusing the name.
    const operationName = rc.request.operationName ?? undefined;
    const variables = rc.request.variables ?? {};
    const plain = () =>
      execute({ schema, document: rc.document, contextValue: rc.context, variableValues: variables, operationName });
    // No operation matches the requested name: graphql-js words the refusal (graphql-jit would take '' for no name).
    if (!rc.operation) return plain();
    const key = `${operationName ?? ''}\u0000${rc.queryHash}`;
    let entry = operations.get(key);
    if (entry === undefined && operations.size >= MAX_COMPILED) operations.delete(operations.keys().next().value!);
    operations.delete(key);
    if (typeof entry === 'number' || entry === undefined) {
      const runs = (entry ?? 0) + 1;
      if (runs >= COMPILE_AFTER) {
        const result = compile(schema, rc.document, operationName);
        entry = isCompiledQuery(result) ? result : null;
        // Parsed, validated and resolved by Apollo, and compiled: later requests with this text can take the fast lane.
        if (entry && rc.request.query !== undefined)
          prepared?.register(rc.request.query, rc.request.operationName, {
            document: rc.document,
            operation: rc.operation,
            compiled: entry,
          });
      } else {
        entry = runs;
      }
    }
    operations.set(key, entry);
    if (entry === null || typeof entry === 'number') return plain();
    const result = await entry.query(undefined, rc.context, variables);
    // No `data` key means the variables were refused before execution: graphql-js words those errors. (`data: null`
    // is an execution error reaching the root: running again would repeat every statement, a timed-out one included.)
    if (result.data === undefined) return plain();
    return withJsErrors(result, rc.source);
  };

  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => undefined;
    },
    load() {
      return Promise.resolve({ executor });
    },
    stop() {
      operations.clear();
      prepared?.clear();
      return Promise.resolve();
    },
  };
}
