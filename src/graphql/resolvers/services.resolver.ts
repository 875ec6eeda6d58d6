import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Info, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../context';
import { openFindingConnection, type FindingConnectionSource } from '../findings/finding-connection';
import { FindingConnectionType } from '../types/finding.types';
import { FindingsArgs } from '../types/findings.args';
import { openAuditConnection, type AuditConnectionSource } from '../audit/audit-connection';
import { findService, liveService, pageClients, pageServices } from '../live/live-lookups';
import { noteUnconfirmedAnswer } from '../live/unconfirmed-answers';
import type { OffsetSlice } from '../pagination/offset-cursor';
import type { ClientRef } from '../types/client.type';
import { AuditEventsArgs, ForwardPageArgs } from '../types/audit-events.args';
import { AuditEventConnectionType, ClientConnectionType, ServiceConnectionType } from '../types/connection.types';
import { ServiceType, type ServiceRef } from '../types/service.type';
import { PageInfoType } from '../types/page-info.type';

/** A Relay connection source built from an offset slice. */
export function toConnection<T>(slice: OffsetSlice<T>): {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfoType;
  totalCount: number;
} {
  return {
    edges: slice.items,
    nodes: slice.items.map((i) => i.node),
    pageInfo: {
      hasNextPage: slice.hasNextPage,
      hasPreviousPage: slice.hasPreviousPage,
      startCursor: slice.items[0]?.cursor ?? null,
      endCursor: slice.items[slice.items.length - 1]?.cursor ?? null,
    },
    totalCount: slice.totalCount,
  };
}

/** Query.services, Query.service and the fields of Service. */
@Resolver(() => ServiceType)
export class ServicesResolver {
  @Query(() => ServiceConnectionType, {
    description: 'DPoD services of the tenant, live from the DPoD platform API (only those the caller may see).',
  })
  async services(
    @Args() page: ForwardPageArgs,
    @Ctx() ctx: Context,
    @Arg('serviceType', () => String, {
      nullable: true,
      description: 'Only services of this type, e.g. key_vault (Luna Cloud HSM).',
    })
    serviceType?: string | null,
  ) {
    return toConnection(await pageServices(ctx, { ...page, serviceType }));
  }

  @Query(() => ServiceType, {
    nullable: true,
    description:
      "A service by id; any id resolves (inDpod tells whether DPoD knows it); null when outside the caller's scope.",
  })
  service(
    @Arg('id', () => ID, { description: 'DPoD service id.' }) id: string,
    @Ctx() ctx: Context,
  ): ServiceRef | null {
    return findService(ctx, id);
  }

  @FieldResolver(() => String, { nullable: true, description: 'Service name (live from DPoD).' })
  async name(@Root() s: ServiceRef, @Ctx() ctx: Context): Promise<string | null> {
    return (await liveService(ctx, s.id))?.name ?? null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'Service type, e.g. key_vault for Luna Cloud HSM (live from DPoD).',
  })
  async serviceType(@Root() s: ServiceRef, @Ctx() ctx: Context): Promise<string | null> {
    return (await liveService(ctx, s.id))?.serviceType ?? null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: "Serial number of the service's HSM partition (live from DPoD).",
  })
  async partitionSerialNumber(@Root() s: ServiceRef, @Ctx() ctx: Context): Promise<string | null> {
    return (await liveService(ctx, s.id))?.partitionSerialNumber ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: 'Provisioning status reported by DPoD (live).' })
  async status(@Root() s: ServiceRef, @Ctx() ctx: Context): Promise<string | null> {
    return (await liveService(ctx, s.id))?.status ?? null;
  }

  @FieldResolver(() => Date, { nullable: true, description: 'When the service was created (live from DPoD).' })
  async createdAt(@Root() s: ServiceRef, @Ctx() ctx: Context): Promise<Date | null> {
    return (await liveService(ctx, s.id))?.createdAt ?? null;
  }

  @FieldResolver(() => Boolean, {
    description:
      'True when DPoD currently knows this service; false for deleted or unknown services (also when DPoD cannot be reached and nothing is cached: a DPOD_UNAVAILABLE error at this path then says so).',
  })
  async inDpod(@Root() s: ServiceRef, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<boolean> {
    return liveService(ctx, s.id).then(
      (service) => service !== null,
      (err: unknown) => {
        noteUnconfirmedAnswer(ctx, info, err);
        return false;
      },
    );
  }

  @FieldResolver(() => ClientConnectionType, {
    description: 'Clients currently bound to the service (live DPoD bindings).',
  })
  async clients(@Root() s: ServiceRef, @Args() page: ForwardPageArgs, @Ctx() ctx: Context) {
    return toConnection<ClientRef>(await pageClients(ctx, s.id, page));
  }

  @FieldResolver(() => AuditEventConnectionType, { description: 'Audit events recorded on this service.' })
  auditEvents(
    @Root() s: ServiceRef,
    @Args() args: AuditEventsArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): AuditConnectionSource {
    return openAuditConnection(ctx, args, { dimension: 'service_id', id: s.id }, info);
  }

  @FieldResolver(() => FindingConnectionType, {
    description: 'Findings on this service (as Query.findings with the service added to the filter), newest first.',
  })
  findings(@Root() s: ServiceRef, @Args() args: FindingsArgs, @Ctx() ctx: Context): FindingConnectionSource {
    return openFindingConnection(ctx, args, { dimension: 'service_id', id: s.id });
  }
}
