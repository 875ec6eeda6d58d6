import type { ApolloServerPlugin } from '@apollo/server';
import { enforceLimits, type LimitsEnforcer } from './prepared-operations';

/**
 * Rejects operations over the depth, alias, root-field, page-size or cost limits before they execute.
 * Each distinct query (and page-size variables) is measured once; later requests only compare the measure.
 * The enforcer is shared with the fast lane (prepared-operations.ts), so both measure a document once.
 */
export function queryLimitsPlugin<TContext extends object>(enforce: LimitsEnforcer): ApolloServerPlugin<TContext> {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ schema, document, operation, request }) {
          if (operation) enforceLimits(enforce, schema, document, operation, request.variables ?? {});
          return Promise.resolve();
        },
      });
    },
  };
}
