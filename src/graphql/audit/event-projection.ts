import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * Which columns an event page reads: `full`, every column of an event; `lean`, only those that its identity, time,
 * action, status, service and client need (the other columns come back as SQL nulls, never read). The page of a
 * portal list (`id time action status`, cursors) is lean: `meta` (its raw text), the key ids array and the other
 * strings make up most of what PostgreSQL sends and `pg` parses for each row (measured in docs/performance.md#graphql).
 */
export type EventProjection = 'full' | 'lean';

/** AuditEvent fields a lean row answers (each reads only id, time, action, status, service_id or client_id). */
const LEAN_EVENT_FIELDS = new Set([
  '__typename',
  'id',
  'time',
  'action',
  'status',
  'succeeded',
  'actionInfo',
  'service',
  'client',
]);
/** AuditEventConnection fields that read no event column, or only through `edges` and `nodes`. */
const CONNECTION_FIELDS_WITHOUT_EVENTS = new Set(['__typename', 'pageInfo', 'totalCount', 'aggregate']);

type Fragments = GraphQLResolveInfo['fragments'];

/** Every field selected in a selection set, fragments expanded; null when a fragment cannot be found. */
function fieldsOf(set: SelectionSetNode | undefined, fragments: Fragments, out: FieldNode[] = []): FieldNode[] | null {
  for (const selection of set?.selections ?? []) {
    if (selection.kind === Kind.FIELD) out.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!fieldsOf(selection.selectionSet, fragments, out)) return null;
    } else {
      const fragment = fragments?.[selection.name.value];
      if (!fragment || !fieldsOf(fragment.selectionSet, fragments, out)) return null;
    }
  }
  return out;
}

/** True when every field selected on these events is one a lean row answers. */
function leanEvents(set: SelectionSetNode | undefined, fragments: Fragments): boolean {
  const fields = fieldsOf(set, fragments);
  return fields !== null && fields.every((f) => LEAN_EVENT_FIELDS.has(f.name.value));
}

function projectionOf(nodes: readonly FieldNode[], fragments: Fragments): EventProjection {
  for (const node of nodes) {
    const fields = fieldsOf(node.selectionSet, fragments);
    if (!fields) return 'full';
    for (const field of fields) {
      const name = field.name.value;
      if (CONNECTION_FIELDS_WITHOUT_EVENTS.has(name)) continue;
      if (name === 'nodes') {
        if (!leanEvents(field.selectionSet, fragments)) return 'full';
        continue;
      }
      if (name !== 'edges') return 'full';
      const edgeFields = fieldsOf(field.selectionSet, fragments);
      if (!edgeFields) return 'full';
      for (const edgeField of edgeFields) {
        const edgeName = edgeField.name.value;
        if (edgeName === '__typename' || edgeName === 'cursor') continue;
        if (edgeName !== 'node' || !leanEvents(edgeField.selectionSet, fragments)) return 'full';
      }
    }
  }
  return 'lean';
}

/**
 * Per connection field node of a parsed (and cached) document: its projection, worked out once. Only a field that is
 * alone in its `fieldNodes` is cached: a node inside a fragment is one object wherever the fragment is spread, and
 * where a sibling selection of the same field merges with it, the projection is that of both.
 */
const known = new WeakMap<FieldNode, EventProjection>();

/**
 * The projection an AuditEventConnection field needs, from what the query selects under it (`@include`/`@skip`
 * ignored: a field that may be selected counts). Without `info` (a connection opened by code), `full`.
 */
export function eventProjection(
  info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'> | undefined,
): EventProjection {
  const first = info?.fieldNodes[0];
  if (!info || !first) return 'full';
  if (info.fieldNodes.length > 1) return projectionOf(info.fieldNodes, info.fragments);
  let projection = known.get(first);
  if (projection === undefined) {
    projection = projectionOf(info.fieldNodes, info.fragments);
    known.set(first, projection);
  }
  return projection;
}
