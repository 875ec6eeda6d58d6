import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { execute, GraphQLError, printSchema, Source, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

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

/**
 * Executes operations through graphql-jit: each distinct operation is compiled once into a function
 * specialised to its selection, which resolves and serializes an event page several times faster than
 * graphql-js walking the selection for every field of every event. Anything graphql-jit cannot compile
 * runs on graphql-js as before.
 *
 * Apollo Server only lets a custom executor in through its gateway interface: it still parses, validates,
 * runs every plugin hook (limits, metrics, error masking) and formats the response; only execution moves.
 */
export function compiledExecutionGateway(schema: GraphQLSchema): GatewayInterface {
  const compiled = new Map<string, CompiledQuery | null>();

  const executor: GatewayExecutor = async (rc) => {
    const key = `${rc.operationName ?? ''}\u0000${rc.queryHash}`;
    let query = compiled.get(key);
    if (query === undefined) {
      const result = compileQuery(schema, rc.document, rc.operationName ?? undefined);
      query = isCompiledQuery(result) ? result : null;
      if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    } else {
      compiled.delete(key);
    }
    compiled.set(key, query);
    const variables = rc.request.variables ?? {};
    if (query === null) {
      return execute({ schema, document: rc.document, contextValue: rc.context, variableValues: variables, operationName: rc.operationName });
    }
    const result = await query.query(undefined, rc.context, variables);
    if (result.errors) result.errors = result.errors.map((e) => (e.extensions ? e : asGraphqlJsError(e, rc.source)));
    return result;
  };

  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => undefined;
    },
    async load() {
      return { executor };
    },
    async stop() {
      compiled.clear();
    },
  };
}
