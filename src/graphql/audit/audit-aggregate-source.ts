import { sql, type RawBuilder } from 'kysely';
import type { AggregateNeed } from './audit-aggregate';
import { filterCondition, rollupCanAnswer, type AuditFilter } from './audit-filter';
import type { ParentDimension } from './audit-scope';

/**
 * Where an aggregate is counted from: daily rollups (+ hourly at the edges), per-client daily rollups (idem), hourly
 * rollups, or the events.
 */
export type AggregateTier = 'daily' | 'daily-client' | 'hourly' | 'events';

const DAY_MS = 86_400_000;

/** Whether the hourly rollups can answer these needs for this filter (MINUTE buckets cannot). */
export function hourlyCanServe(filter: AuditFilter, needs: readonly AggregateNeed[]): boolean {
  return rollupCanAnswer(filter) && !needs.some((n) => n.kind === 'timeline' && n.interval === 'MINUTE');
}

/**
 * Whether the daily rollups (day, service, action, status) can serve: no client or role in the filter or
 * the breakdowns, no first/last, and only DAY/WEEK/MONTH buckets. Bounds off the day edges are filled
 * from the hourly rollups.
 */
export function dailyCanServe(filter: AuditFilter, needs: readonly AggregateNeed[]): boolean {
  if (!hourlyCanServe(filter, needs) || filter.clientIds !== null || filter.roles !== null) return false;
  return needs.every(
    (n) =>
      n.kind === 'totals' ||
      (n.kind === 'dimension' && (n.dimension === 'action' || n.dimension === 'status' || n.dimension === 'service')) ||
      (n.kind === 'timeline' && (n.interval === 'DAY' || n.interval === 'WEEK' || n.interval === 'MONTH')),
  );
}

/**
 * Whether the per-client daily rollups (day, service, client, status) can serve: no action or role in the filter or
 * the breakdowns, no first/last, and only DAY/WEEK/MONTH buckets. Bounds off the day edges are filled from the
 * hourly rollups.
 */
export function dailyClientCanServe(filter: AuditFilter, needs: readonly AggregateNeed[]): boolean {
  if (!hourlyCanServe(filter, needs) || filter.actions !== null || filter.roles !== null) return false;
  return needs.every(
    (n) =>
      n.kind === 'totals' ||
      (n.kind === 'dimension' && (n.dimension === 'status' || n.dimension === 'client' || n.dimension === 'service')) ||
      (n.kind === 'timeline' && (n.interval === 'DAY' || n.interval === 'WEEK' || n.interval === 'MONTH')),
  );
}

/** Picks the cheapest exact tier; `force` restricts the choice (tests compare tiers). */
export function chooseTier(
  filter: AuditFilter,
  needs: readonly AggregateNeed[],
  force: 'auto' | AggregateTier = 'auto',
  dimension: ParentDimension | null = null,
): AggregateTier {
  if (force === 'events') return 'events';
  if (force === 'hourly') return hourlyCanServe(filter, needs) ? 'hourly' : 'events';
  if (force === 'daily-client') return dailyClientCanServe(filter, needs) ? 'daily-client' : 'events';
  if (dimension !== 'client_id' && dailyCanServe(filter, needs)) return 'daily';
  if (dailyClientCanServe(filter, needs)) return 'daily-client';
  return hourlyCanServe(filter, needs) ? 'hourly' : 'events';
}

/**
 * Whether the tenant-wide daily rollups (day, action, status) can stand in for the daily ones: the whole tenant
 * (no service in the filter, in the breakdowns or as the parent), so summing over services loses nothing.
 */
export function tenantWideCanServe(
  filter: AuditFilter,
  needs: readonly AggregateNeed[],
  dimension: ParentDimension | null,
): boolean {
  return (
    dimension === null &&
    filter.serviceIds === null &&
    !needs.some((n) => n.kind === 'dimension' && n.dimension === 'service')
  );
}

/**
 * The counting relation `r(t, service_id, client_id, action, status, role, count)` of a rollup tier.
 * `tenantWide` (see {@link tenantWideCanServe}) reads the whole days from the tenant-wide daily rollups.
 */
export function rollupRelation(
  filter: AuditFilter,
  tier: 'daily' | 'daily-client' | 'hourly',
  tenantWide = false,
): RawBuilder<unknown> {
  // In the daily tier every `t` is a UTC day start (edge hours are truncated), so DAY buckets need no date_trunc.
  const hourly = (f: AuditFilter, asDays = false) => sql`
    select ${asDays ? sql`date_trunc('day', h.hour, 'UTC')` : sql`h.hour`} as t, h.service_id, h.client_id, h.action, h.status, h.role, h.count
      from audit_rollups_hourly h where ${filterCondition(f, 'h', 'hourly')}`;
  if (tier === 'hourly') return sql`(${hourly(filter)}) r`;
  // Whole days from the daily table; the partial days at either end from the hourly one.
  const ceilDay = filter.from ? new Date(Math.ceil(filter.from.getTime() / DAY_MS) * DAY_MS) : null;
  const floorDay = filter.to ? new Date(Math.floor(filter.to.getTime() / DAY_MS) * DAY_MS) : null;
  if (ceilDay && floorDay && ceilDay.getTime() >= floorDay.getTime()) return sql`(${hourly(filter, true)}) r`;
  const days = filterCondition({ ...filter, from: ceilDay, to: floorDay }, 'd', tier);
  const parts: RawBuilder<unknown>[] = [
    tier === 'daily-client'
      ? sql`select d.day as t, d.service_id, d.client_id, null::text as action, d.status, null::text as role, d.count
              from audit_rollups_daily_client d where ${days}`
      : tenantWide
        ? sql`select d.day as t, null::text as service_id, null::text as client_id, d.action, d.status, null::text as role, d.count
              from audit_rollups_daily_tenant d where ${days}`
        : sql`select d.day as t, d.service_id, null::text as client_id, d.action, d.status, null::text as role, d.count
              from audit_rollups_daily d where ${days}`,
  ];
  if (filter.from && ceilDay && ceilDay.getTime() > filter.from.getTime())
    parts.push(hourly({ ...filter, to: ceilDay }, true));
  if (filter.to && floorDay && floorDay.getTime() < filter.to.getTime())
    parts.push(hourly({ ...filter, from: floorDay }, true));
  return sql`(${sql.join(parts, sql` union all `)}) r`;
}
