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
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const variables = request.variables ?? {};
          // Invalid variables: execution refuses the request (BAD_USER_INPUT) before any resolver runs.
          if (operation.variableDefinitions?.length && getVariableValues(schema, operation.variableDefinitions, variables, { maxErrors: 1 }).errors) return;
          enforce(schema, document, operation, variables);
        },
      };
    },
  };
}
