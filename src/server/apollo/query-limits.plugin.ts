import type { ApolloServerPlugin } from '@apollo/server';
import { getVariableValues } from 'graphql';
import { createQueryLimitsEnforcer, type QueryLimits } from './query-limits';

/**
 * Rejects operations over the depth, alias, root-field, page-size or cost limits before they execute.
 * Each distinct query (and page-size variables) is measured once; later requests only compare the measure.
 */
export function queryLimitsPlugin<TContext extends object>(limits: QueryLimits): ApolloServerPlugin<TContext> {
  const enforce = createQueryLimitsEnforcer(limits);
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return Promise.resolve();
          let variables = request.variables ?? {};
          if (operation.variableDefinitions?.length) {
            const values = getVariableValues(schema, operation.variableDefinitions, variables, { maxErrors: 1 });
            // Invalid variables: execution refuses the request (BAD_USER_INPUT) before any resolver runs.
            if (values.errors) return Promise.resolve();
            // Measured with their defaults applied: an omitted `$r` defaulting to 600 representations is 600.
            variables = values.coerced;
          }
          enforce(schema, document, operation, variables);
          return Promise.resolve();
        },
      });
    },
  };
}
