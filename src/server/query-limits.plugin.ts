import type { ApolloServerPlugin } from '@apollo/server';
import { enforceQueryLimits, type QueryLimits } from './query-limits';

/** Rejects operations over the depth, alias, root-field, page-size or cost limits before they execute. */
export function queryLimitsPlugin<TContext extends object>(limits: QueryLimits): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          enforceQueryLimits(limits, schema, document, operation, request.variables ?? {});
        },
      };
    },
  };
}
