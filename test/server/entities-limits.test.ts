import { parse, type OperationDefinitionNode } from 'graphql';
import { buildGraphqlSchema } from '../../src/graphql/schema';
import { createQueryLimitsEnforcer, type QueryLimits } from '../../src/server/apollo/query-limits';

const LIMITS: QueryLimits = { maxDepth: 12, maxCost: 5000, maxAliases: 30, maxRootFields: 10, maxPageSize: 500 };
const ENTITIES = parse('query ($r: [_Any!]!) { _entities(representations: $r) { ... on AuditEvent { id action } } }');

function measure(
  enforce: ReturnType<typeof createQueryLimitsEnforcer>,
  schema: Awaited<ReturnType<typeof buildGraphqlSchema>>,
  count: number,
) {
  const representations = Array.from({ length: count }, (_, i) => ({ __typename: 'AuditEvent', id: `e${i}` }));
  const operation = ENTITIES.definitions[0] as OperationDefinitionNode;
  try {
    return enforce(schema, ENTITIES, operation, { r: representations });
  } catch (err) {
    return (err as { extensions: { code: string; limit: number; actual: number } }).extensions;
  }
}

describe('federation _entities under the query limits', () => {
  it('counts each representation like a page item, in size and in nodes', async () => {
    const schema = await buildGraphqlSchema();
    const enforce = createQueryLimitsEnforcer(LIMITS);
    expect(measure(enforce, schema, 10)).toEqual(expect.objectContaining({ largestPage: 10, cost: 10 }));
    expect(measure(enforce, schema, 100)).toEqual(expect.objectContaining({ largestPage: 100, cost: 100 }));
    // Same query text, more representations: measured again, not served from the first measure.
    expect(measure(enforce, schema, 501)).toEqual({
      code: 'PAGE_SIZE_EXCEEDED',
      limit: 500,
      actual: 501,
      http: { status: 400 },
    });
    expect(measure(enforce, schema, 10)).toEqual(expect.objectContaining({ largestPage: 10 }));
  });

  it('refuses a batch whose cost is over the limit', async () => {
    const schema = await buildGraphqlSchema();
    const enforce = createQueryLimitsEnforcer({ ...LIMITS, maxCost: 200 });
    expect(measure(enforce, schema, 300)).toEqual(
      expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', limit: 200, actual: 300 }),
    );
  });
});
