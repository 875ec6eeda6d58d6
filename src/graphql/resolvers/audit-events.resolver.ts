import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Info, Query, Resolver, Root } from 'type-graphql';
import { findLunaAction, type LunaActionEntry } from '../catalog/luna-action-catalog';
import type { Context } from '../context';
import { openAuditConnection, type AuditConnectionSource } from '../audit/audit-connection';
import { decodeAuditEventId, type AuditEvent } from '../audit/audit-event';
import { mayReadService } from '../auth-scope';
import type { ClientRef } from '../types/client.type';
import type { ServiceRef } from '../types/service.type';
import { AuditEventConnectionType } from '../types/connection.types';
import { AuditEventType } from '../types/audit-event.type';
import { AuditEventsArgs } from '../types/audit-events.args';
import { ClientType } from '../types/client.type';
import { LunaActionType } from '../types/luna-action.type';
import { ServiceType } from '../types/service.type';

/** Query.auditEvents, Query.auditEvent and the derived fields of AuditEvent. */
@Resolver(() => AuditEventType)
export class AuditEventsResolver {
  @Query(() => AuditEventConnectionType, {
    description: 'Audit events matching a filter, paged by cursor, with their count and aggregate.',
  })
  auditEvents(
    @Args() args: AuditEventsArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): AuditConnectionSource {
    return openAuditConnection(ctx, args, null, info);
  }

  @Query(() => AuditEventType, {
    nullable: true,
    description: 'One audit event by its id; null when unknown or not visible to the caller.',
  })
  async auditEvent(
    @Arg('id', () => ID, { description: 'The id field of an AuditEvent.' }) id: string,
    @Ctx() ctx: Context,
  ): Promise<AuditEvent | null> {
    const event = await ctx.loaders.eventByPosition.load(decodeAuditEventId(id));
    return event && mayReadService(ctx.auth, event.serviceId) ? event : null;
  }

  @FieldResolver(() => LunaActionType, {
    nullable: true,
    description: 'The catalog entry of the action; null for codes not in the catalog.',
  })
  actionInfo(@Root() event: AuditEvent): LunaActionEntry | null {
    return findLunaAction(event.action);
  }

  @FieldResolver(() => ServiceType, { description: 'The service the event was recorded on (resourceID).' })
  service(@Root() event: AuditEvent): ServiceRef {
    return { id: event.serviceId };
  }

  @FieldResolver(() => ClientType, { description: 'The client that acted (actorID).' })
  client(@Root() event: AuditEvent): ClientRef {
    return { id: event.clientId, serviceId: event.serviceId };
  }
}
