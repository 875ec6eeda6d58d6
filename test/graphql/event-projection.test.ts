import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { eventProjection } from '../../src/graphql/audit/event-projection';

/** The projection of the first root field of `query`, as a resolver would see it (fieldNodes and fragments). */
function projectionOf(query: string) {
  const doc = parse(query);
  const operation = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  const fragments = Object.fromEntries(
    doc.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const field = operation.selectionSet.selections[0] as FieldNode;
  return eventProjection({ fieldNodes: [field], fragments });
}

describe('eventProjection', () => {
  it.each([
    '{ auditEvents { edges { cursor node { id time action status } } pageInfo { hasNextPage endCursor } } }',
    '{ auditEvents { nodes { id succeeded actionInfo { name } service { id } client { id } } totalCount } }',
    '{ auditEvents { totalCount aggregate { byAction { key count } } } }',
    '{ auditEvents { edges { node { ...E } } } } fragment E on AuditEvent { id ... on AuditEvent { time } }',
    '{ auditEvents { __typename edges { __typename node { __typename id } } } }',
  ])('is lean when only identity, time, action, status, service and client are read: %s', (query) => {
    expect(projectionOf(query)).toBe('lean');
  });

  it.each([
    '{ auditEvents { edges { node { id meta { clientIp } } } } }',
    '{ auditEvents { nodes { id source } } }',
    '{ auditEvents { nodes { ...E } } } fragment E on AuditEvent { id meta { raw } }',
    '{ auditEvents { nodes { ... on AuditEvent { traceId } } } }',
    '{ auditEvents { edges { node { id inclusionProof { root } } } } }',
    '{ auditEvents { nodes { ...Missing } } }',
    '{ auditEvents { edges { node { id tenantId @include(if: false) } } } }',
  ])('reads every column otherwise: %s', (query) => {
    expect(projectionOf(query)).toBe('full');
  });

  it('reads every column for a connection opened without resolver info', () => {
    expect(eventProjection(undefined)).toBe('full');
  });
});
