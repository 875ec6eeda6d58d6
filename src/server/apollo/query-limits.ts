import {
  GraphQLError,
  Kind,
  valueFromASTUntyped,
  visit,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { getComplexity, type ComplexityEstimatorArgs } from 'graphql-query-complexity';
import { httpStatusOf, type HttpStatusCode } from '../../error-codes';

/** Codes of the query-shape limits, each in `extensions.code` with `extensions.limit` (the configured value). */
export const LIMIT_CODES = [
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COMPLEX',
  'TOO_MANY_ALIASES',
  'TOO_MANY_ROOT_FIELDS',
  'PAGE_SIZE_EXCEEDED',
] as const satisfies readonly HttpStatusCode[];
/** One of {@link LIMIT_CODES}. */
export type LimitCode = (typeof LIMIT_CODES)[number];

/** The limits checked before execution. */
export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxRootFields: number;
  maxPageSize: number;
  /** Page size assumed for a list field with a `first`/`last` argument when neither is given (default 50). */
  defaultPageSize?: number;
}

/** What {@link measureQuery} found. */
export interface QueryMeasure {
  depth: number;
  aliases: number;
  rootFields: number;
  largestPage: number;
  cost: number;
}

/** A rejected query; `extensions` names the limit, its value and what was asked (when it could be measured). */
export function limitError(code: LimitCode, message: string, limit: number, actual?: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code, limit, ...(actual === undefined ? {} : { actual }), http: { status: httpStatusOf(code) } },
  });
}

const isMeta = (name: string) => name.startsWith('__');

/**
 * Measures the operation's depth, aliases, root fields and largest requested page (fragments expanded,
 * introspection fields ignored). Memoised per fragment, so fragment fan-out cannot blow up the walk.
 */
function measureShape(
  operation: OperationDefinitionNode,
  fragments: Map<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
) {
  const memo = new Map<string, { depth: number; aliases: number; largestPage: number }>();
  const rootFragments = new Set<string>();
  let rootFields = 0;
  const walk = (set: SelectionSetNode, root: boolean): { depth: number; aliases: number; largestPage: number } => {
    let depth = 0;
    let aliases = 0;
    let largestPage = 0;
    for (const sel of set.selections) {
      let sub: { depth: number; aliases: number; largestPage: number };
      if (sel.kind === Kind.FIELD) {
        if (isMeta(sel.name.value)) continue;
        if (root) rootFields++;
        const inner = sel.selectionSet ? walk(sel.selectionSet, false) : { depth: 0, aliases: 0, largestPage: 0 };
        let page = 0;
        for (const arg of sel.arguments ?? []) {
          if (!SIZE_ARGUMENTS.has(arg.name.value) || arg.name.value === 'limit') continue;
          const value = valueFromASTUntyped(arg.value, variables);
          // Federation's `_entities(representations: [...])` asks for one entity per representation.
          const size = Array.isArray(value) ? value.length : value;
          if (typeof size === 'number') page = Math.max(page, size);
        }
        sub = {
          depth: inner.depth + 1,
          aliases: inner.aliases + (sel.alias ? 1 : 0),
          largestPage: Math.max(page, inner.largestPage),
        };
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        sub = walk(sel.selectionSet, root);
      } else {
        const name = sel.name.value;
        const fragment = fragments.get(name);
        if (!fragment) continue;
        if (root) {
          // Execution collects a fragment once however often the root spreads it (also from fragments it spreads):
          // walking it again would only repeat its fields, and doubling spreads would make the walk exponential.
          if (rootFragments.has(name)) continue;
          rootFragments.add(name);
          sub = walk(fragment.selectionSet, true);
        } else {
          let known = memo.get(name);
          if (!known) memo.set(name, (known = walk(fragment.selectionSet, false)));
          sub = known;
        }
      }
      depth = Math.max(depth, sub.depth);
      aliases += sub.aliases;
      largestPage = Math.max(largestPage, sub.largestPage);
    }
    return { depth, aliases, largestPage };
  };
  const shape = walk(operation.selectionSet, true);
  return { ...shape, rootFields };
}

/**
 * A field's cost in nodes, GitHub's GraphQL node limit model: a field that returns a page (`first`/`last`, `limit`,
 * or federation's `representations`) counts the items it can return, and everything below it counts once per
 * item; other fields count what is below them. So a query's cost is the number of nodes it can return at most:
 * `services(first: 100) { clients(first: 20) { actions(first: 5) } }` is 100 + 100 x 20 + 100 x 20 x 5 = 12,100.
 * A connection without `first`/`last` counts the default page size; scalars, objects and lists without a size
 * argument (a connection's `nodes`, an aggregate's buckets) count nothing of their own.
 */
function fieldCost(defaultPageSize: number) {
  return ({ field, args, childComplexity }: ComplexityEstimatorArgs): number => {
    if (isMeta(field.name)) return 0;
    const hasPaging = field.args.some((a) => a.name === 'first' || a.name === 'last');
    const representations = Array.isArray(args.representations) ? args.representations.length : undefined;
    const asked = [args.first, args.last, args.limit, representations].find((v): v is number => typeof v === 'number');
    const items = asked ?? (hasPaging ? defaultPageSize : null);
    return items === null ? childComplexity : Math.max(0, items) * (1 + childComplexity);
  };
}

/** Throws the first limit the shape breaks, in the order page size, depth, aliases, root fields. */
function checkShape(limits: QueryLimits, shape: Omit<QueryMeasure, 'cost'>): void {
  if (shape.largestPage > limits.maxPageSize) {
    throw limitError(
      'PAGE_SIZE_EXCEEDED',
      `Page size ${shape.largestPage} exceeds the maximum of ${limits.maxPageSize} (first/last, or representations of _entities).`,
      limits.maxPageSize,
      shape.largestPage,
    );
  }
  if (shape.depth > limits.maxDepth) {
    throw limitError(
      'QUERY_TOO_DEEP',
      `Query depth ${shape.depth} exceeds the maximum depth of ${limits.maxDepth}.`,
      limits.maxDepth,
      shape.depth,
    );
  }
  if (shape.aliases > limits.maxAliases) {
    throw limitError(
      'TOO_MANY_ALIASES',
      `Query uses ${shape.aliases} aliases; the maximum is ${limits.maxAliases}.`,
      limits.maxAliases,
      shape.aliases,
    );
  }
  if (shape.rootFields > limits.maxRootFields) {
    throw limitError(
      'TOO_MANY_ROOT_FIELDS',
      `Query selects ${shape.rootFields} root fields; the maximum is ${limits.maxRootFields}.`,
      limits.maxRootFields,
      shape.rootFields,
    );
  }
}

/**
 * Selections the cost walk may visit. It walks a fragment again wherever it is spread, so fragments spreading
 * fragments twice make it exponential in the query's length; past this many, the query is refused as too complex.
 */
const MAX_COST_NODES = 10_000;

/** The operation's cost (see {@link fieldCost}); QUERY_TOO_COMPLEX when its fragments expand past {@link MAX_COST_NODES}. */
function measureCost(
  limits: QueryLimits,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): number {
  try {
    return getComplexity({
      schema,
      query: document,
      variables,
      operationName: operation.name?.value,
      estimators: [fieldCost(limits.defaultPageSize ?? 50)],
      maxQueryNodes: MAX_COST_NODES,
    });
  } catch (err) {
    if (!(err instanceof GraphQLError) || !/maximum allowed number of nodes/.test(err.message)) throw err;
    throw limitError(
      'QUERY_TOO_COMPLEX',
      `Query expands to more than ${MAX_COST_NODES} fields once its fragments are spread, past any cost within the maximum of ${limits.maxCost}; spread each fragment fewer times.`,
      limits.maxCost,
    );
  }
}

function checkCost(limits: QueryLimits, cost: number): void {
  if (cost > limits.maxCost) {
    throw limitError(
      'QUERY_TOO_COMPLEX',
      `Query can return ${cost} nodes, more than the maximum of ${limits.maxCost} (each page counts its items, times the items of the pages above it; first/last default ${limits.defaultPageSize ?? 50}); ask for smaller pages or fewer nested lists.`,
      limits.maxCost,
      cost,
    );
  }
}

/** Arguments whose values change a query's measure: page sizes (`first`, `last`, `limit`) and federation's
 *  `representations` (its length); directives count too. */
const SIZE_ARGUMENTS = new Set(['first', 'last', 'limit', 'representations']);

/** Names of the variables used where they change the measure (page-size arguments, directives such as @include). */
function measureVariables(document: DocumentNode): string[] {
  const names = new Set<string>();
  const collect = (node: ASTNode) =>
    visit(node, {
      Variable(v) {
        names.add(v.name.value);
      },
    });
  visit(document, {
    Argument(arg) {
      if (SIZE_ARGUMENTS.has(arg.name.value)) collect(arg.value);
    },
    Directive(directive) {
      for (const arg of directive.arguments ?? []) collect(arg.value);
    },
  });
  return [...names].sort();
}

const measuredByDocument = new WeakMap<DocumentNode, string[]>();

/** The variables a document's measure depends on (page sizes, directive conditions), worked out once per document. */
export function measuredVariables(document: DocumentNode): string[] {
  let names = measuredByDocument.get(document);
  if (!names) measuredByDocument.set(document, (names = measureVariables(document)));
  return names;
}

/** Distinct measures kept per document (page sizes given by variables make a few per query string). */
const MEASURES_PER_DOCUMENT = 64;

interface DocumentMeasures {
  variables: string[];
  /** Keyed by operation name and the values of `variables`; a shape over a limit is kept without a cost. */
  measures: Map<string, { shape: Omit<QueryMeasure, 'cost'>; cost?: number }>;
}

/**
 * Throws the first limit an operation breaks, in the order page size, depth, aliases, root fields, cost, measuring
 * each distinct (document, operation, page-size variables) once: the
 * measure is kept per parsed document (Apollo hands the same `DocumentNode` for the same query string from its
 * document cache) and the limits are checked against it on every request. The variables must already be valid
 * for the operation (a request with invalid variables is refused by execution before anything runs).
 */
export function createQueryLimitsEnforcer(
  limits: QueryLimits,
): (
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
) => QueryMeasure {
  const bySchema = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, DocumentMeasures>>();
  return (schema, document, operation, variables) => {
    let documents = bySchema.get(schema);
    if (!documents) bySchema.set(schema, (documents = new WeakMap()));
    let entry = documents.get(document);
    if (!entry) documents.set(document, (entry = { variables: measureVariables(document), measures: new Map() }));
    // `{ v }` keeps an omitted variable (its default applies) apart from an explicit null.
    // Representations count by their number only (their content does not change the measure).
    const key = JSON.stringify([
      operation.name?.value ?? null,
      ...entry.variables.map((name) =>
        Array.isArray(variables[name]) ? { n: (variables[name] as unknown[]).length } : { v: variables[name] },
      ),
    ]);
    let known = entry.measures.get(key);
    if (!known) {
      const fragments = new Map<string, FragmentDefinitionNode>();
      for (const def of document.definitions)
        if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
      known = { shape: measureShape(operation, fragments, variables) };
      if (entry.measures.size >= MEASURES_PER_DOCUMENT) entry.measures.clear();
      entry.measures.set(key, known);
    }
    checkShape(limits, known.shape);
    known.cost ??= measureCost(limits, schema, document, operation, variables);
    checkCost(limits, known.cost);
    return { ...known.shape, cost: known.cost };
  };
}
