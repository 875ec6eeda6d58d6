import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Info, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../context';
import { openFindingConnection, type FindingConnectionSource } from '../findings/finding-connection';
import { FindingConnectionType } from '../types/finding.types';
import { FindingsArgs } from '../types/findings.args';
import { openAuditConnection, type AuditConnectionSource } from '../audit/audit-connection';
import { mayReadService } from '../auth-scope';
import { clientServiceId, findClient, liveBinding } from '../live/live-lookups';
import { noteUnconfirmedAnswer } from '../live/unconfirmed-answers';
import { AuditEventsArgs } from '../types/audit-events.args';
import { ClientType, type ClientRef } from '../types/client.type';
import { AuditEventConnectionType } from '../types/connection.types';
import { ServiceType, type ServiceRef } from '../types/service.type';

/** Query.client and the fields of Client. */
@Resolver(() => ClientType)
export class ClientsResolver {
  @Query(() => ClientType, {
    nullable: true,
    description: 'A client by id; null when the caller may not see any service it acted on or is bound to.',
  })
  client(
    @Arg('id', () => ID, { description: 'DPoD client id.' }) id: string,
    @Ctx() ctx: Context,
  ): Promise<ClientRef | null> {
    return findClient(ctx, id);
  }

  @FieldResolver(() => String, { nullable: true, description: 'Client name (live from the DPoD binding).' })
  async name(@Root() c: ClientRef, @Ctx() ctx: Context): Promise<string | null> {
    return (await liveBinding(ctx, c))?.name ?? null;
  }

  @FieldResolver(() => Date, { nullable: true, description: 'When the client was bound (live from DPoD).' })
  async createdAt(@Root() c: ClientRef, @Ctx() ctx: Context): Promise<Date | null> {
    return (await liveBinding(ctx, c))?.createdAt ?? null;
  }

  @FieldResolver(() => Boolean, {
    description:
      'True when the client is currently bound to its service in DPoD; false when unbound or unknown (also when DPoD cannot be reached and nothing is cached: a DPOD_UNAVAILABLE error at this path then says so).',
  })
  async bound(@Root() c: ClientRef, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<boolean> {
    return liveBinding(ctx, c).then(
      (b) => b !== null,
      (err: unknown) => {
        noteUnconfirmedAnswer(ctx, info, err);
        return false;
      },
    );
  }

  @FieldResolver(() => ServiceType, {
    nullable: true,
    description: 'The service the client is bound to (or last acted on); null when unknown.',
  })
  async service(@Root() c: ClientRef, @Ctx() ctx: Context): Promise<ServiceRef | null> {
    const id = await clientServiceId(ctx, c);
    return id !== null && mayReadService(ctx.auth, id) ? { id } : null;
  }

  @FieldResolver(() => AuditEventConnectionType, { description: 'Audit events caused by this client.' })
  actions(
    @Root() c: ClientRef,
    @Args() args: AuditEventsArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): AuditConnectionSource {
    return openAuditConnection(ctx, args, { dimension: 'client_id', id: c.id }, info);
  }

  @FieldResolver(() => FindingConnectionType, {
    description: 'Findings about this client (as Query.findings with the client added to the filter), newest first.',
  })
  findings(@Root() c: ClientRef, @Args() args: FindingsArgs, @Ctx() ctx: Context): FindingConnectionSource {
    return openFindingConnection(ctx, args, { dimension: 'client_id', id: c.id });
  }
}
