import {
  GraphQLError,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  type GraphQLFieldConfigMap,
} from 'graphql';
import type { AuthScope } from '../../../src/server/auth/authenticator';

/** The context of the placeholder schema. */
export interface PlaceholderContext {
  requestId: string;
  auth: AuthScope;
  /** A pool with a short statement_timeout, for `sqlSleep`. */
  sql?: { query(text: string): Promise<unknown> };
}

const Item: GraphQLObjectType = new GraphQLObjectType({
  name: 'Item',
  fields: (): GraphQLFieldConfigMap<number, PlaceholderContext> => ({
    id: { type: new GraphQLNonNull(GraphQLInt), resolve: (n) => n },
    child: { type: Item, resolve: (n) => n + 1 },
    children: {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(Item))),
      args: { first: { type: GraphQLInt } },
      resolve: (n, { first }: { first?: number | null }) =>
        Array.from({ length: Math.min(first ?? 3, 3) }, (_, i) => n * 10 + i),
    },
  }),
});

/** A tiny schema that exercises the server's policies (limits, masking, timeouts) without the real data layer. */
export const placeholderSchema = new GraphQLSchema({
  query: new GraphQLObjectType<unknown, PlaceholderContext>({
    name: 'Query',
    fields: {
      echo: {
        type: GraphQLString,
        args: { text: { type: GraphQLString } },
        resolve: (_, { text }: { text?: string | null }) => text,
      },
      item: { type: Item, resolve: () => 1 },
      items: {
        type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(Item))),
        args: { first: { type: GraphQLInt }, last: { type: GraphQLInt } },
        resolve: (_, { first }: { first?: number | null }) =>
          Array.from({ length: Math.min(first ?? 3, 3) }, (_, i) => i),
      },
      boom: {
        type: GraphQLString,
        resolve: () => {
          throw new Error('relation "secret_table" does not exist at character 42');
        },
      },
      refused: {
        type: GraphQLString,
        resolve: () => {
          throw new GraphQLError('That id is not a valid service id', { extensions: { code: 'BAD_USER_INPUT' } });
        },
      },
      slow: {
        type: GraphQLString,
        args: { ms: { type: new GraphQLNonNull(GraphQLInt) } },
        resolve: async (_, { ms }: { ms: number }) => {
          await new Promise((r) => setTimeout(r, ms));
          return 'done';
        },
      },
      sqlSleep: {
        type: GraphQLString,
        args: { seconds: { type: new GraphQLNonNull(GraphQLInt) } },
        resolve: async (_, { seconds }, ctx) => {
          await ctx.sql!.query(`select pg_sleep(${Number(seconds)})`);
          return 'slept';
        },
      },
      whoami: {
        type: GraphQLString,
        resolve: (_, __, ctx) => JSON.stringify(ctx.auth),
      },
    },
  }),
});
