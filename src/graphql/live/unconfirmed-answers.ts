import { GraphQLError, responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from '../context';
import type { UnconfirmedAnswer } from './unconfirmed-answer';

/**
 * Records that the field at `info.path` answered without DPoD's confirmation because of `error`, a DPOD_UNAVAILABLE
 * error. Any other error (the database failing while finding the client's service) is rethrown: it is not DPoD's,
 * and its message is for the server log, not for a DPOD_UNAVAILABLE error.
 */
export function noteUnconfirmedAnswer(ctx: Context, info: GraphQLResolveInfo, error: unknown): void {
  if (!(error instanceof GraphQLError && error.extensions?.code === 'DPOD_UNAVAILABLE')) throw error;
  const reason = error.message;
  ctx.unconfirmedAnswers.push({
    path: responsePathAsArray(info.path),
    message: `${info.parentType.name}.${info.fieldName} is false without confirmation: ${reason}`,
  });
}

/** Apollo plugin: appends one `DPOD_UNAVAILABLE` error per unconfirmed live answer to the response. */
export function unconfirmedAnswersPlugin<TContext extends object = Context>(): ApolloServerPlugin<TContext> {
  return {
    // Apollo's hooks return promises; neither of these has anything to wait for.
    requestDidStart: () =>
      Promise.resolve({
        willSendResponse: ({ response, contextValue }) => {
          const answers = (contextValue as { unconfirmedAnswers?: UnconfirmedAnswer[] }).unconfirmedAnswers;
          if (!answers || answers.length === 0 || response.body.kind !== 'single') return Promise.resolve();
          const result = response.body.singleResult;
          const extra = answers.map((a) => ({
            message: a.message,
            path: [...a.path],
            extensions: { code: 'DPOD_UNAVAILABLE' },
          }));
          result.errors = [...(result.errors ?? []), ...extra];
          return Promise.resolve();
        },
      }),
  };
}
