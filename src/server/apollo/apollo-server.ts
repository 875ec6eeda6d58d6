import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { compiledExecutionGateway } from './compiled-executor';
import { createErrorMasker, errorLoggingPlugin } from './error-masking';
import type { Metrics } from '../metrics/metrics';
import { operationLabels, operationMetricsPlugin } from './operation-metrics.plugin';
import { queryLimitsPlugin } from './query-limits.plugin';
import { createQueryLimitsEnforcer } from './query-limits';
import { PreparedOperations } from './prepared-operations';
import { unconfirmedAnswersPlugin } from '../../graphql/live/unconfirmed-answers';

/** Tokens a query document may hold: bounds parsing and validation work before any limit rule runs. */
export const MAX_QUERY_TOKENS = 10_000;

/** Options for {@link createApolloServer}. */
export interface ApolloServerOptions {
  schema: GraphQLSchema;
  limits: Config['limits'];
  metrics: Metrics;
  logger: Logger;
  /** Register compiled queries for the HTTP layer's fast lane (`GRAPHQL_FAST_LANE`, default on). */
  fastLane?: boolean;
}

/** Apollo Server and the fast lane beside it, sharing the limits enforcer, the metric labels and compiled operations. */
export interface GraphqlEngine<TContext extends object> {
  apollo: ApolloServer<TContext>;
  /** Queries Apollo has run and compiled, which the HTTP layer may run again itself (src/server/http/fast-lane.ts). */
  prepared: PreparedOperations;
  /** The metric label of an operation name (shared with the Apollo metrics plugin, so both count the same series). */
  operationLabel: (name: string | null | undefined) => string;
}

/**
 * Apollo Server with the product's policies: limits, masked errors, metrics, introspection switch,
 * and no landing page (GraphiQL is served offline by the HTTP layer).
 */
export function createApolloServer<TContext extends { requestId: string }>(
  options: ApolloServerOptions,
): GraphqlEngine<TContext> {
  const { limits, logger } = options;
  const enforce = createQueryLimitsEnforcer(limits);
  const prepared = new PreparedOperations(options.schema, enforce);
  const operationLabel = operationLabels();
  const apollo = new ApolloServer<TContext>({
    // Operations execute compiled (graphql-jit); Apollo keeps parsing, validation, plugins and formatting.
    // Off, or with APOLLO_KEY set (Apollo then reports usage from its own pipeline), nothing is prepared, so every
    // request goes through Apollo.
    gateway: compiledExecutionGateway(
      options.schema,
      undefined,
      options.fastLane === false || process.env.APOLLO_KEY ? undefined : prepared,
    ),
    introspection: limits.introspection,
    // With introspection off, "Did you mean ...?" in validation errors would still spell out the schema field by field.
    hideSchemaDetailsFromClientErrors: !limits.introspection,
    includeStacktraceInErrorResponses: false,
    formatError: createErrorMasker(limits.statementTimeoutMs, { hideSuggestions: !limits.introspection }),
    // The API is read-only and authenticates with bearer headers, never cookies: a cross-site request can neither
    // change anything nor act as a user, and plain GET queries (curl, links) must work.
    csrfPrevention: false,
    parseOptions: { maxTokens: MAX_QUERY_TOKENS },
    // The app owns shutdown order (HTTP drain, follower, pools); Apollo must not act on signals itself.
    stopOnTerminationSignals: false,
    logger: logger.child({ component: 'apollo' }),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // No field carries a cache hint, so every response is uncacheable: the HTTP layer sends
      // `cache-control: no-store` itself instead of Apollo running a hook on every resolved field to work that out.
      ApolloServerPluginCacheControlDisabled(),
      // No federated tracing (ftv1): one router request asking for a trace would make Apollo wrap every field
      // resolver of the schema for good, slowing every later operation; and Apollo would otherwise install it for
      // any subgraph and build a trace recorder on every request. Operation timings are in /metrics.
      ApolloServerPluginInlineTraceDisabled(),
      queryLimitsPlugin<TContext>(enforce),
      // Non-null live fields answered without DPoD get their DPOD_UNAVAILABLE error here.
      unconfirmedAnswersPlugin<TContext>(),
      operationMetricsPlugin<TContext>(options.metrics, operationLabel),
      errorLoggingPlugin<TContext>(logger),
    ],
  });
  return { apollo, prepared, operationLabel };
}
