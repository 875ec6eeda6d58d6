import { decodeAuditEventId, type AuditEvent } from '../audit/audit-event';
import { mayReadService } from '../auth-scope';
import type { Context } from '../context';
import { badInput } from '../errors';
import { findClient, findService } from '../live/live-lookups';
import type { ClientRef } from '../types/client.type';
import type { ServiceRef } from '../types/service.type';

/** The key fields another subgraph sends for one entity (`@key(fields: "id")`). */
export interface EntityRepresentation {
  __typename: string;
  id?: unknown;
}

/** The names of this subgraph's entity types. */
export const ENTITY_TYPES = ['Service', 'Client', 'AuditEvent'] as const;
/** One of {@link ENTITY_TYPES}. */
export type EntityTypeName = (typeof ENTITY_TYPES)[number];

function keyOf(ref: EntityRepresentation): string {
  if (typeof ref.id !== 'string' || ref.id.length === 0)
    throw badInput(`a ${ref.__typename} representation needs its key field id (a non-empty string)`, 'representations');
  return ref.id;
}

/**
 * Refuses representations `@apollo/subgraph` would fail on with a plain error (masked as INTERNAL_SERVER_ERROR, and
 * for a missing or unknown `__typename` failing the whole list): each must be an object naming one of {@link ENTITY_TYPES}.
 */
export function checkRepresentations(representations: readonly unknown[]): void {
  representations.forEach((ref, i) => {
    const typename = ref !== null && typeof ref === 'object' ? (ref as { __typename?: unknown }).__typename : undefined;
    if (typeof typename !== 'string' || !(ENTITY_TYPES as readonly string[]).includes(typename)) {
      throw badInput(
        `representations[${i}] must be an object with a __typename of ${ENTITY_TYPES.join(', ')} and the key field id`,
        'representations',
      );
    }
  });
}

/**
 * `__resolveReference` of each entity. They go through the request's DataLoaders, so a batch of
 * representations costs one SQL statement (events, client homes) or one DPoD lookup per distinct service,
 * and they apply the caller's scope like Query.service / Query.client / Query.auditEvent do (null outside it).
 */
export const ENTITY_REFERENCE_RESOLVERS: Record<
  EntityTypeName,
  { __resolveReference(ref: EntityRepresentation, ctx: Context): unknown }
> = {
  Service: {
    // A promise: a bad representation then fails its own entity, not the whole _entities list.
    __resolveReference: (ref, ctx): Promise<ServiceRef | null> =>
      Promise.resolve().then(() => findService(ctx, keyOf(ref))),
  },
  Client: {
    __resolveReference: (ref, ctx): Promise<ClientRef | null> =>
      Promise.resolve().then(() => findClient(ctx, keyOf(ref))),
  },
  AuditEvent: {
    __resolveReference: async (ref, ctx): Promise<AuditEvent | null> => {
      const event = await ctx.loaders.eventByPosition.load(decodeAuditEventId(keyOf(ref)));
      return event && mayReadService(ctx.auth, event.serviceId) ? event : null;
    },
  },
};
