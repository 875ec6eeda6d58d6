import { ApolloServer } from '@apollo/server';
import { Kind, parse } from 'graphql';
import { createQueryLimitsEnforcer, type QueryLimits } from '../../src/server/apollo/query-limits';
import { queryLimitsPlugin } from '../../src/server/apollo/query-limits.plugin';
import { buildGraphqlSchema } from '../../src/graphql/schema';
import { placeholderSchema } from './support/placeholder-schema';

const LIMITS: QueryLimits = { maxDepth: 6, maxCost: 1000, maxAliases: 5, maxRootFields: 4, maxPageSize: 100 };

/** Runs the enforcer and returns the limit code it throws, or the measure. */
function outcome(
  enforce: ReturnType<typeof createQueryLimitsEnforcer>,
  document: ReturnType<typeof parse>,
  variables: Record<string, unknown>,
) {
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!;
  try {
    return enforce(placeholderSchema, document, operation, variables);
  } catch (err) {
    return (err as { extensions: { code: string } }).extensions.code;
  }
}

describe('query limits measured once per distinct query', () => {
  it('keeps page-size variables apart: a refused size does not stick to the query, nor an accepted one', () => {
    const enforce = createQueryLimitsEnforcer(LIMITS);
    const doc = parse('query ($n: Int, $text: String) { echo(text: $text) items(first: $n) { id } }');
    expect(outcome(enforce, doc, { n: 2, text: 'a' })).toEqual({
      depth: 2,
      aliases: 0,
      rootFields: 2,
      largestPage: 2,
      cost: 2,
    });
    // Other variables (not page sizes) reuse the measure; a different page size does not.
    expect(outcome(enforce, doc, { n: 2, text: 'b' })).toEqual({
      depth: 2,
      aliases: 0,
      rootFields: 2,
      largestPage: 2,
      cost: 2,
    });
    expect(outcome(enforce, doc, { n: 100000, text: 'a' })).toBe('PAGE_SIZE_EXCEEDED');
    expect(outcome(enforce, doc, { n: 100000, text: 'b' })).toBe('PAGE_SIZE_EXCEEDED');
    expect(outcome(enforce, doc, { n: 2, text: 'a' })).toEqual({
      depth: 2,
      aliases: 0,
      rootFields: 2,
      largestPage: 2,
      cost: 2,
    });
  });

  it('re-measures the cost when nested page sizes change', () => {
    const enforce = createQueryLimitsEnforcer(LIMITS);
    const doc = parse('query ($a: Int, $b: Int) { items(first: $a) { children(first: $b) { id } } }');
    expect(outcome(enforce, doc, { a: 10, b: 10 })).toEqual(expect.objectContaining({ cost: 10 * (1 + 10) }));
    expect(outcome(enforce, doc, { a: 100, b: 100 })).toBe('QUERY_TOO_COMPLEX');
    expect(outcome(enforce, doc, { a: 10, b: 10 })).toEqual(expect.objectContaining({ cost: 110 }));
  });

  it('tells an omitted variable (its default applies) from an explicit null', () => {
    const enforce = createQueryLimitsEnforcer(LIMITS);
    const doc = parse('query ($n: Int = 100000) { items(first: $n) { id } }');
    expect(outcome(enforce, doc, {})).toBe('QUERY_TOO_COMPLEX');
    expect(outcome(enforce, doc, { n: null })).toEqual(expect.objectContaining({ cost: 50 }));
    expect(outcome(enforce, doc, {})).toBe('QUERY_TOO_COMPLEX');
  });

  it('re-measures when a directive variable changes what is selected', () => {
    const enforce = createQueryLimitsEnforcer(LIMITS);
    const doc = parse(
      'query ($all: Boolean!) { items(first: 100) { id children(first: 100) @include(if: $all) { id } } }',
    );
    expect(outcome(enforce, doc, { all: false })).toEqual(expect.objectContaining({ cost: 100 }));
    expect(outcome(enforce, doc, { all: true })).toBe('QUERY_TOO_COMPLEX');
    expect(outcome(enforce, doc, { all: false })).toEqual(expect.objectContaining({ cost: 100 }));
  });

  it('through Apollo: invalid variables are BAD_USER_INPUT, and the same query then runs within its limits', async () => {
    const apollo = new ApolloServer({
      schema: placeholderSchema,
      plugins: [queryLimitsPlugin(createQueryLimitsEnforcer(LIMITS))],
    });
    await apollo.start();
    try {
      const query = 'query ($n: Int!) { items(first: $n) { id } }';
      const run = async (variables: Record<string, unknown>) => {
        const res = await apollo.executeOperation(
          { query, variables },
          { contextValue: { requestId: 't', auth: { subject: null, serviceIds: null } } },
        );
        if (res.body.kind !== 'single') throw new Error('expected a single result');
        return res.body.singleResult;
      };
      expect((await run({ n: 'many' })).errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect((await run({})).errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(await run({ n: 2 })).toEqual({ data: { items: [{ id: 0 }, { id: 1 }] } });
      expect((await run({ n: 101 })).errors?.map((e) => e.extensions?.code)).toEqual(['PAGE_SIZE_EXCEEDED']);
      expect(await run({ n: 2 })).toEqual({ data: { items: [{ id: 0 }, { id: 1 }] } });
    } finally {
      await apollo.stop();
    }
  });
});

it('counts the nested findings connections by their page size, as the nested event connections', async () => {
  const schema = await buildGraphqlSchema();
  const enforce = createQueryLimitsEnforcer({ ...LIMITS, maxCost: 100000, maxDepth: 10 });
  const cost = (query: string) => {
    const document = parse(query);
    const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!;
    return enforce(schema, document, operation, {}).cost;
  };
  const findings = cost('{ services(first: 10) { nodes { findings(first: 20) { nodes { id } } } } }');
  expect(findings).toBe(cost('{ services(first: 10) { nodes { auditEvents(first: 20) { nodes { id } } } } }'));
  expect(findings).toBeGreaterThanOrEqual(10 * 20);
  expect(cost('{ client(id: "c") { findings(last: 30) { nodes { id } } } }')).toBeGreaterThanOrEqual(30);
});
