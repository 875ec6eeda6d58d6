import { ApolloServer } from '@apollo/server';
import {
  type DocumentNode,
  GraphQLError,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  GraphQLNonNull,
  GraphQLList,
  GraphQLInt,
} from 'graphql';
import { compileQuery } from 'graphql-jit';
import { compiledExecutionGateway } from '../../src/server/apollo/compiled-executor';

/** A schema with plain fields, lists, arguments, a failing field and a client error. */
function schema(): GraphQLSchema {
  const item = new GraphQLObjectType({
    name: 'Item',
    fields: {
      n: { type: new GraphQLNonNull(GraphQLInt) },
      label: { type: GraphQLString, resolve: (i: { n: number }) => `#${i.n}` },
      broken: {
        type: GraphQLString,
        resolve: (i: { n: number }) => {
          if (i.n === 2) throw Object.assign(new Error('select * from secret'), { code: '57014' });
          return 'fine';
        },
      },
    },
  });
  return new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        items: {
          type: new GraphQLList(new GraphQLNonNull(item)),
          args: { first: { type: GraphQLInt } },
          resolve: (_root, args: { first?: number }) =>
            Promise.resolve(Array.from({ length: args.first ?? 3 }, (_, i) => ({ n: i + 1 }))),
        },
        refused: {
          type: GraphQLString,
          resolve: () => {
            throw new GraphQLError('not allowed here', { extensions: { code: 'FORBIDDEN' } });
          },
        },
      },
    }),
  });
}

/** The response of graphql-js and the compiled executor's third answer (the first runs uncompiled). */
async function both(query: string, variables?: Record<string, unknown>) {
  const plain = new ApolloServer({ schema: schema(), includeStacktraceInErrorResponses: false });
  const compiled = new ApolloServer({
    gateway: compiledExecutionGateway(schema()),
    includeStacktraceInErrorResponses: false,
  });
  await plain.start();
  await compiled.start();
  try {
    const a = await plain.executeOperation({ query, variables });
    for (let i = 0; i < 2; i++) await compiled.executeOperation({ query, variables });
    const b = await compiled.executeOperation({ query, variables });
    return { plain: a.body, compiled: b.body };
  } finally {
    await plain.stop();
    await compiled.stop();
  }
}

describe('compiled execution (graphql-jit behind Apollo)', () => {
  it.each([
    ['lists, arguments and variables', 'query($k: Int) { items(first: $k) { n label } }', { k: 4 }],
    ['a failing field nulls only itself, with path and location', '{ items { n broken } }', undefined],
    ['a client error keeps its code', '{ refused items(first: 1) { n } }', undefined],
    ['aliases and typename', '{ a: items(first: 1) { x: n __typename } b: __typename }', undefined],
    ['a variable of the wrong type', 'query($k: Int!) { items(first: $k) { n } }', { k: 'x' }],
    ['a missing required variable', 'query($k: Int!) { items(first: $k) { n } }', {}],
  ])('answers %s exactly like graphql-js', async (_name, query, variables) => {
    const { plain, compiled } = await both(query, variables);
    expect(compiled).toEqual(plain);
    expect(plain.kind).toBe('single');
  });

  it('compiles an operation when it comes back, once, and runs it compiled from then on', async () => {
    const compile = jest.fn((s: GraphQLSchema, d: DocumentNode, op?: string) => compileQuery(s, d, op));
    const server = new ApolloServer({ gateway: compiledExecutionGateway(schema(), compile) });
    await server.start();
    try {
      const query = '{ items(first: 2) { n label } }';
      await server.executeOperation({ query });
      expect(compile).not.toHaveBeenCalled();
      for (let i = 0; i < 3; i++) await server.executeOperation({ query });
      expect(compile).toHaveBeenCalledTimes(1);
      await server.executeOperation({ query: '{ items(first: 1) { n } }' });
      expect(compile).toHaveBeenCalledTimes(1);
    } finally {
      await server.stop();
    }
  });

  it('answers refused variables with BAD_USER_INPUT, as graphql-js does', async () => {
    const { compiled } = await both('query($k: Int!) { items(first: $k) { n } }', { k: 'x' });
    if (compiled.kind !== 'single') throw new Error('expected a single result');
    expect(compiled.singleResult.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(compiled.singleResult.errors?.[0]?.message).toMatch(/Variable "\$k" got invalid value "x"/);
  });

  it('runs a failing non-null root field once: an error that nulls the whole answer does not run it again uncompiled', async () => {
    let calls = 0;
    const failing = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          total: {
            type: new GraphQLNonNull(GraphQLInt),
            resolve: () => {
              calls++;
              return Promise.reject(new Error('the database did not answer'));
            },
          },
        },
      }),
    });
    const server = new ApolloServer({
      gateway: compiledExecutionGateway(failing),
      includeStacktraceInErrorResponses: false,
    });
    await server.start();
    try {
      for (let i = 0; i < 3; i++) {
        const before = calls;
        const res = await server.executeOperation({ query: '{ total }' });
        if (res.body.kind !== 'single') throw new Error('expected a single result');
        expect({ data: res.body.singleResult.data, message: res.body.singleResult.errors?.[0]?.message }).toEqual({
          data: null,
          message: 'the database did not answer',
        });
        expect({ request: i, calls: calls - before }).toEqual({ request: i, calls: 1 });
      }
    } finally {
      await server.stop();
    }
  });

  it('reports a failing field with the code Apollo gives unexpected errors', async () => {
    const { compiled } = await both('{ items { n broken } }');
    if (compiled.kind !== 'single') throw new Error('expected a single result');
    expect(compiled.singleResult.data).toEqual({
      items: [
        { n: 1, broken: 'fine' },
        { n: 2, broken: null },
        { n: 3, broken: 'fine' },
      ],
    });
    expect(compiled.singleResult.errors).toEqual([
      {
        message: 'select * from secret',
        locations: [{ line: 1, column: 13 }],
        path: ['items', 1, 'broken'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
    ]);
  });
});
