import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context';
import { parsePageArgs, type PageArgs, type PageRequest } from '../pagination/page-request';
import { decodeEventCursor, encodeEventCursor } from './audit-cursor';
import type { AggregateNeed, AggregateValue } from './audit-aggregate';
import type { AuditEvent, EventPosition } from './audit-event';
import { normalizeFilter, type AuditFilterInput } from './audit-filter';
import type { EventPage } from './audit-page.repository';
import type { AuditScope, EventOrder, ParentDimension } from './audit-scope';
import { eventProjection, type EventProjection } from './event-projection';

/** The source object of an AuditEventConnection: what to read; reading happens in its fields, through loaders. */
export interface AuditConnectionSource {
  scope: AuditScope;
  order: EventOrder;
  request: PageRequest<EventPosition>;
  /** The columns its page reads: what the query selects under the connection. */
  projection: EventProjection;
}

/** Arguments of an audit event connection field. */
export interface AuditConnectionArgs extends PageArgs {
  filter?: AuditFilterInput | null;
  orderBy?: EventOrder | null;
}

/**
 * Validates connection arguments (filter, paging, order) and confines the filter to the caller's services. With the
 * connection field's `info`, its page reads only the columns the query selects under it.
 */
export function openAuditConnection(
  ctx: Context,
  args: AuditConnectionArgs,
  parent: { dimension: ParentDimension; id: string } | null = null,
  info?: GraphQLResolveInfo,
): AuditConnectionSource {
  const request = parsePageArgs(args, ctx.deps.config.limits.maxPageSize, decodeEventCursor);
  return {
    scope: { filter: normalizeFilter(args.filter, ctx.auth), parent },
    order: args.orderBy ?? 'TIME_DESC',
    request,
    projection: eventProjection(info),
  };
}

/** Loads the page of a connection (batched with sibling connections of the same shape). */
export function loadPage(ctx: Context, source: AuditConnectionSource): Promise<EventPage> {
  const { scope } = source;
  return ctx.loaders.eventPage.load({
    filter: scope.filter,
    dimension: scope.parent?.dimension ?? null,
    parent: scope.parent?.id ?? null,
    order: source.order,
    request: source.request,
    projection: source.projection,
  });
}

/** Loads one part of the aggregate of a scope (all parts requested together are computed in one statement). */
export function loadAggregate(ctx: Context, scope: AuditScope, need: AggregateNeed): Promise<AggregateValue> {
  return ctx.loaders.aggregate.load({
    filter: scope.filter,
    dimension: scope.parent?.dimension ?? null,
    parent: scope.parent?.id ?? null,
    need,
  });
}

/** The cursor of an event. */
export function cursorOf(event: AuditEvent): string {
  return encodeEventCursor(event.position);
}

/** An edge of an event page; its cursor is encoded only when the query selects it. */
export class EventEdge {
  constructor(readonly node: AuditEvent) {}

  get cursor(): string {
    return cursorOf(this.node);
  }
}
