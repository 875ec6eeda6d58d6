import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { Context } from '../context';
import { cursorOf, EventEdge, loadAggregate, loadPage, type AuditConnectionSource } from '../audit/audit-connection';
import type { AuditEvent } from '../audit/audit-event';
import type { AuditScope } from '../audit/audit-scope';
import { AuditAggregateType } from '../types/aggregate.types';
import { AuditEventType } from '../types/audit-event.type';
import { AuditEventConnectionType, AuditEventEdgeType } from '../types/connection.types';
import { PageInfoType } from '../types/page-info.type';

/** The fields of AuditEventConnection: each reads through a batched loader. */
@Resolver(() => AuditEventConnectionType)
export class AuditEventConnectionResolver {
  @FieldResolver(() => [AuditEventEdgeType], { description: 'The events of this page with their cursors.' })
  async edges(@Root() source: AuditConnectionSource, @Ctx() ctx: Context): Promise<EventEdge[]> {
    const page = await loadPage(ctx, source);
    return page.events.map((node) => new EventEdge(node));
  }

  @FieldResolver(() => [AuditEventType], { description: 'The events of this page.' })
  async nodes(@Root() source: AuditConnectionSource, @Ctx() ctx: Context): Promise<AuditEvent[]> {
    return (await loadPage(ctx, source)).events;
  }

  @FieldResolver(() => PageInfoType, { description: 'Paging information.' })
  async pageInfo(@Root() source: AuditConnectionSource, @Ctx() ctx: Context): Promise<PageInfoType> {
    const page = await loadPage(ctx, source);
    const first = page.events[0];
    const last = page.events[page.events.length - 1];
    return {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: first ? cursorOf(first) : null,
      endCursor: last ? cursorOf(last) : null,
    };
  }

  @FieldResolver(() => Int, {
    description:
      'Number of events matching the filter, whatever the paging (from the hourly rollups when the filter allows).',
  })
  async totalCount(@Root() source: AuditConnectionSource, @Ctx() ctx: Context): Promise<number> {
    return (await loadAggregate(ctx, source.scope, { kind: 'totals' })).count;
  }

  @FieldResolver(() => AuditAggregateType, {
    description: 'Counts and breakdowns of every event matching the filter (paging ignored).',
  })
  aggregate(@Root() source: AuditConnectionSource): AuditScope {
    return source.scope;
  }
}
