import { LRUCache } from 'lru-cache';
import Negotiator from 'negotiator';
import {
  getVariableValues,
  OperationTypeNode,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import { measuredVariables, type QueryMeasure } from './query-limits';

/** Checks an operation against the query limits (throws the limit's GraphQLError when over one). */
export type LimitsEnforcer = (
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
) => QueryMeasure;

/**
 * Applies the limits to one request as the limits plugin does: the variables coerced with their defaults (an omitted
 * `$first` defaulting to 100 counts as 100). False when the variables are invalid: execution then refuses the request
 * with BAD_USER_INPUT before any resolver runs, so there is nothing to measure. Throws when over a limit.
 */
export function enforceLimits(
  enforce: LimitsEnforcer,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): boolean {
  let values = variables;
  if (operation.variableDefinitions?.length) {
    const coerced = getVariableValues(schema, operation.variableDefinitions, variables, { maxErrors: 1 });
    if (coerced.errors) return false;
    values = coerced.coerced;
  }
  enforce(schema, document, operation, values);
  return true;
}

/** A query Apollo has parsed, validated and run, compiled by graphql-jit: what the fast lane needs to run it again. */
export interface PreparedOperation {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly compiled: CompiledQuery;
}

/**
 * Where a held result travels: a property of the request's context, because Apollo hands its executor a shallow
 * copy of the context (own properties, symbols included, are copied; object identity is not kept).
 */
const HELD = Symbol('fast lane result');

/** What the fast lane leaves on a context it hands to Apollo: its result (until taken) and when it started. */
interface Held {
  result?: ExecutionResult;
  /** process.hrtime.bigint() when the fast lane got the request. */
  started: bigint;
}
type Holder = { [HELD]?: Held };

/** When the fast lane started this request, if it ran it before handing it to Apollo (the metrics plugin times from it). */
export function fastLaneStart(context: object): bigint | undefined {
  return (context as Holder)[HELD]?.started;
}

/** Prepared operations kept (least recently used dropped first), as many as the compiled executor keeps. */
const MAX_PREPARED = 500;
/**
 * Longest query text prepared: each entry keeps its text twice (key and document), so a client padding distinct
 * queries with comments up to BODY_LIMIT_BYTES cannot make the registry hold more than 500 x 2 x 32 KB. Longer
 * queries go through Apollo.
 */
const MAX_PREPARED_TEXT = 32 * 1024;
/** Distinct Accept headers whose negotiated answer is remembered. */
const MAX_ACCEPT_HEADERS = 100;

/** The media types Apollo Server answers a single result with, in its order of preference. */
const SINGLE_RESULT_TYPES = [
  'application/json; charset=utf-8',
  'application/graphql-response+json; charset=utf-8',
  'application/json; callbackSpec=1.0; charset=utf-8',
];

/**
 * The fast lane's registry: the queries that have already been through Apollo Server's whole pipeline once (parsed
 * with the token limit, validated against the schema with its introspection rule, resolved to one operation,
 * compiled), keyed by the request's exact text and operation name. A later request with the same text is run by the
 * HTTP layer itself (limits, context, compiled execution, one JSON.stringify), skipping Apollo's per-request
 * pipeline, which costs about as much CPU as resolving the page itself (docs/performance.md#graphql). Hand-written
 * because it is the measured hot path.
 *
 * Anything the fast lane cannot answer exactly as Apollo would goes to Apollo: unknown text, GET, persisted queries,
 * invalid variables, an operation over a limit (Apollo raises the same error), an Accept header Apollo would refuse,
 * and every result with errors or unconfirmed live answers. A result with errors is not run again: it is {@link hold}
 * for the compiled executor, which hands it to Apollo in place of executing, so errors are masked, logged, counted
 * and formatted by the one path that does so.
 */
export class PreparedOperations {
  private readonly byText = new LRUCache<string, PreparedOperation>({ max: MAX_PREPARED });
  private readonly acceptTypes = new Map<string, string | null>();

  constructor(
    readonly schema: GraphQLSchema,
    private readonly enforce: LimitsEnforcer,
  ) {}

  private static key(query: string, operationName: string | null | undefined): string {
    return `${operationName ?? ''}\u0000${query}`;
  }

  /** Records a query the compiled executor has compiled (only queries: mutations and subscriptions stay on Apollo). */
  register(query: string, operationName: string | null | undefined, prepared: PreparedOperation): void {
    if (prepared.operation.operation !== OperationTypeNode.QUERY || query.length > MAX_PREPARED_TEXT) return;
    this.byText.set(PreparedOperations.key(query, operationName), prepared);
  }

  /** The prepared form of this exact request text, if Apollo has run and compiled it before. */
  lookup(query: string, operationName: string | null | undefined): PreparedOperation | undefined {
    return this.byText.get(PreparedOperations.key(query, operationName));
  }

  /** Applies the limits to a prepared operation: false (let Apollo answer) on invalid variables or over a limit. */
  admits(prepared: PreparedOperation, variables: Record<string, unknown>): boolean {
    try {
      // A measure no variable changes needs no coerced variables (invalid ones are refused by execution, on Apollo).
      if (measuredVariables(prepared.document).length === 0) {
        this.enforce(this.schema, prepared.document, prepared.operation, variables);
        return true;
      }
      return enforceLimits(this.enforce, this.schema, prepared.document, prepared.operation, variables);
    } catch {
      return false;
    }
  }

  /**
   * The content type Apollo Server would answer a single result with under this Accept header (negotiated the same
   * way, by `negotiator`); null when Apollo would refuse the request with 406.
   */
  contentType(accept: string | undefined): string | null {
    if (!accept) return SINGLE_RESULT_TYPES[0]!;
    let type = this.acceptTypes.get(accept);
    if (type === undefined) {
      type = new Negotiator({ headers: { accept } }).mediaType(SINGLE_RESULT_TYPES) ?? null;
      if (this.acceptTypes.size >= MAX_ACCEPT_HEADERS) this.acceptTypes.clear();
      this.acceptTypes.set(accept, type);
    }
    return type;
  }

  /** Keeps a result the fast lane computed for the request whose context this is, for Apollo to answer with. */
  hold(context: object, result: ExecutionResult, started: bigint): void {
    (context as Holder)[HELD] = { result, started };
  }

  /** The result held for this context, once (its start time stays for the metrics plugin). */
  take(context: object): ExecutionResult | undefined {
    const held = (context as Holder)[HELD];
    const result = held?.result;
    if (held) held.result = undefined;
    return result;
  }

  clear(): void {
    this.byText.clear();
  }
}
