import { Arg, Ctx, FieldResolver, Float, Int, Resolver, Root } from 'type-graphql';
import type { Context } from '../context';
import { loadAggregate } from '../audit/audit-connection';
import type { AggregateDimension, CountBucketValue, TimeBucketValue } from '../audit/audit-aggregate';
import type { AuditScope } from '../audit/audit-scope';
import { badInput } from '../errors';
import type { ClientRef } from '../types/client.type';
import type { ServiceRef } from '../types/service.type';
import {
  AuditAggregateType,
  ClientCountType,
  CountBucketType,
  ServiceCountType,
  TimeBucketType,
  TimeInterval,
} from '../types/aggregate.types';

const LIMIT_DESCRIPTION = 'Keep only the first `limit` buckets (default: all).';

/** The widest window a MINUTE timeline may cover: 31 days, at most 44,640 buckets (every other interval is bounded by the rollups' grain). */
export const MAX_MINUTE_TIMELINE_DAYS = 31;

/** MINUTE buckets are counted from the raw events, one per minute: without a bounded window they grow with the store. */
function checkMinuteWindow(scope: AuditScope, now: Date = new Date()): void {
  const { from, to } = scope.filter;
  const end = to ?? now;
  if (!from || end.getTime() - from.getTime() > MAX_MINUTE_TIMELINE_DAYS * 86_400_000) {
    throw badInput(
      `timeline(interval: MINUTE) needs filter.from, and at most ${MAX_MINUTE_TIMELINE_DAYS} days between filter.from and filter.to (or now): ` +
        `narrow the window or use interval HOUR or coarser`,
      'interval',
    );
  }
}

function limited<T>(buckets: T[], limit: number | null | undefined): T[] {
  if (limit == null) return buckets;
  if (!Number.isInteger(limit) || limit < 1)
    throw badInput(`limit must be a positive whole number (got ${limit})`, 'limit');
  return buckets.slice(0, limit);
}

async function buckets(ctx: Context, scope: AuditScope, dimension: AggregateDimension): Promise<CountBucketValue[]> {
  const value = await loadAggregate(ctx, scope, { kind: 'dimension', dimension });
  return value.dimensions[dimension] ?? [];
}

/** The fields of AuditAggregate; sibling fields are computed together in one statement per connection shape. */
@Resolver(() => AuditAggregateType)
export class AuditAggregateResolver {
  @FieldResolver(() => Int, { description: 'Number of matching events.' })
  async count(@Root() scope: AuditScope, @Ctx() ctx: Context): Promise<number> {
    return (await loadAggregate(ctx, scope, { kind: 'totals' })).count;
  }

  @FieldResolver(() => Int, { description: 'Events with status LUNA_RET_OK.' })
  async succeeded(@Root() scope: AuditScope, @Ctx() ctx: Context): Promise<number> {
    const v = await loadAggregate(ctx, scope, { kind: 'totals' });
    return v.count - v.failed;
  }

  @FieldResolver(() => Int, { description: 'Events with any other status.' })
  async failed(@Root() scope: AuditScope, @Ctx() ctx: Context): Promise<number> {
    return (await loadAggregate(ctx, scope, { kind: 'totals' })).failed;
  }

  @FieldResolver(() => Float, { description: 'failed / count, between 0 and 1; 0 when there are no events.' })
  async failureRate(@Root() scope: AuditScope, @Ctx() ctx: Context): Promise<number> {
    const v = await loadAggregate(ctx, scope, { kind: 'totals' });
    return v.count === 0 ? 0 : v.failed / v.count;
  }

  @FieldResolver(() => Int, { description: 'Number of distinct clients among the events.' })
  async distinctClients(@Root() scope: AuditScope, @Ctx() ctx: Context): Promise<number> {
    return (await buckets(ctx, scope, 'client')).length;
  }

  @FieldResolver(() => Int, { description: 'Number of distinct services among the events.' })
  async distinctServices(@Root() scope: AuditScope, @Ctx() ctx: Context): Promise<number> {
    return (await buckets(ctx, scope, 'service')).length;
  }

  @FieldResolver(() => Date, { nullable: true, description: 'Time of the earliest matching event; null when none.' })
  async first(@Root() scope: AuditScope, @Ctx() ctx: Context): Promise<Date | null> {
    return (await loadAggregate(ctx, scope, { kind: 'bounds' })).first;
  }

  @FieldResolver(() => Date, { nullable: true, description: 'Time of the latest matching event; null when none.' })
  async last(@Root() scope: AuditScope, @Ctx() ctx: Context): Promise<Date | null> {
    return (await loadAggregate(ctx, scope, { kind: 'bounds' })).last;
  }

  @FieldResolver(() => [CountBucketType], { description: 'Events per action code.' })
  async byAction(
    @Root() scope: AuditScope,
    @Ctx() ctx: Context,
    @Arg('limit', () => Int, { nullable: true, description: LIMIT_DESCRIPTION }) limit?: number | null,
  ): Promise<CountBucketValue[]> {
    return limited(await buckets(ctx, scope, 'action'), limit);
  }

  @FieldResolver(() => [CountBucketType], { description: 'Events per status.' })
  async byStatus(
    @Root() scope: AuditScope,
    @Ctx() ctx: Context,
    @Arg('limit', () => Int, { nullable: true, description: LIMIT_DESCRIPTION }) limit?: number | null,
  ): Promise<CountBucketValue[]> {
    return limited(await buckets(ctx, scope, 'status'), limit);
  }

  @FieldResolver(() => [CountBucketType], {
    description: 'Events per role (PO, CO, CU, public; "(none)" when the record had no role).',
  })
  async byRole(@Root() scope: AuditScope, @Ctx() ctx: Context): Promise<CountBucketValue[]> {
    return buckets(ctx, scope, 'role');
  }

  @FieldResolver(() => [ClientCountType], { description: 'Events per client.' })
  async byClient(
    @Root() scope: AuditScope,
    @Ctx() ctx: Context,
    @Arg('limit', () => Int, { nullable: true, description: LIMIT_DESCRIPTION }) limit?: number | null,
  ): Promise<{ client: ClientRef; count: number }[]> {
    return limited(await buckets(ctx, scope, 'client'), limit).map((b) => ({ client: { id: b.key }, count: b.count }));
  }

  @FieldResolver(() => [ServiceCountType], { description: 'Events per service.' })
  async byService(
    @Root() scope: AuditScope,
    @Ctx() ctx: Context,
    @Arg('limit', () => Int, { nullable: true, description: LIMIT_DESCRIPTION }) limit?: number | null,
  ): Promise<{ service: ServiceRef; count: number }[]> {
    return limited(await buckets(ctx, scope, 'service'), limit).map((b) => ({
      service: { id: b.key },
      count: b.count,
    }));
  }

  @FieldResolver(() => [TimeBucketType], {
    description: `Events per time bucket (UTC), oldest first; buckets without events are omitted. MINUTE needs filter.from and a window of at most ${MAX_MINUTE_TIMELINE_DAYS} days.`,
  })
  async timeline(
    @Root() scope: AuditScope,
    @Ctx() ctx: Context,
    @Arg('interval', () => TimeInterval, { description: 'Bucket size.' }) interval: TimeInterval,
  ): Promise<TimeBucketValue[]> {
    if (interval === TimeInterval.MINUTE) checkMinuteWindow(scope);
    const v = await loadAggregate(ctx, scope, { kind: 'timeline', interval });
    return v.timelines[interval] ?? [];
  }
}
