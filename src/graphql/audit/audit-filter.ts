import { PIN_FAILURE_STATUSES } from '../../detect/catalog';
import { isIP } from 'node:net';
import { sql, type RawBuilder } from 'kysely';
import type { AuthScope } from '../auth-scope';
import { badInput } from '../errors';
import { storableText } from '../text-input';

/** The success status: `succeeded` means `status = 'LUNA_RET_OK'`. */
export const RET_OK = 'LUNA_RET_OK';
/** Most values one list of a filter may hold. */
export const MAX_FILTER_VALUES = 1000;

/** A filter as received from GraphQL (see `AuditEventFilter`). */
export interface AuditFilterInput {
  from?: Date | null;
  to?: Date | null;
  serviceIds?: readonly string[] | null;
  clientIds?: readonly string[] | null;
  actions?: readonly string[] | null;
  statuses?: readonly string[] | null;
  succeeded?: boolean | null;
  roles?: readonly string[] | null;
  clientIps?: readonly string[] | null;
  hsmIds?: readonly string[] | null;
  objectId?: string | null;
}

/** A validated filter, already confined to the caller's services; lists are sorted and de-duplicated. */
export interface AuditFilter {
  from: Date | null;
  to: Date | null;
  serviceIds: string[] | null;
  clientIds: string[] | null;
  actions: string[] | null;
  statuses: string[] | null;
  succeeded: boolean | null;
  roles: string[] | null;
  clientIps: string[] | null;
  hsmIds: string[] | null;
  objectId: string | null;
  /**
   * Only PIN or login failures (a failed LUNA_LOGIN, or a wrong-PIN / lockout status): the evidence of a
   * PIN_FAILURE_BURST finding (`Finding.events`); not a field of the GraphQL filter. Read from the events only.
   */
  pinFailures?: boolean;
  /** True when the filter provably matches nothing (no SQL needed). */
  empty: boolean;
}

function list(name: string, values: readonly string[] | null | undefined): string[] | null {
  if (values == null) return null;
  if (values.length > MAX_FILTER_VALUES)
    throw badInput(
      `filter.${name} holds ${values.length} values; at most ${MAX_FILTER_VALUES} are allowed`,
      `filter.${name}`,
    );
  for (const value of values) storableText(value, `filter.${name}`);
  return [...new Set(values)].sort();
}

function cidr(value: string): string {
  const [address = '', bits, ...rest] = value.trim().split('/');
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  // Node takes an IPv6 zone (fe80::1%eth0); PostgreSQL's inet does not.
  if (
    !family ||
    address.includes('%') ||
    rest.length > 0 ||
    (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))
  ) {
    throw badInput(
      `filter.clientIps: "${value.slice(0, 60)}" is neither an IP address nor a CIDR block (e.g. 10.0.0.7 or 10.0.0.0/8)`,
      'filter.clientIps',
    );
  }
  return bits === undefined ? address : `${address}/${bits}`;
}

/** Validates a filter and intersects it with the caller's allowed services; `extra` adds parent constraints. */
export function normalizeFilter(input: AuditFilterInput | null | undefined, auth: AuthScope): AuditFilter {
  const f = input ?? {};
  for (const key of ['from', 'to'] as const) {
    const d = f[key];
    if (d != null && Number.isNaN(d.getTime()))
      throw badInput(`filter.${key} is not a valid date-time`, `filter.${key}`);
    // An offset can move a valid text out of years 1..9999 (0000-01-01T00:00:00Z, 9999-12-31T23:59:59-23:59),
    // whose ISO text PostgreSQL does not read.
    if (d != null && (d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999)) {
      throw badInput(
        `filter.${key} must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z`,
        `filter.${key}`,
      );
    }
  }
  let serviceIds = list('serviceIds', f.serviceIds);
  if (auth.serviceIds !== null) {
    const allowed = new Set(auth.serviceIds);
    serviceIds = serviceIds === null ? [...allowed].sort() : serviceIds.filter((s) => allowed.has(s));
  }
  const clientIps = f.clientIps == null ? null : list('clientIps', f.clientIps.map(cidr));
  const filter: AuditFilter = {
    from: f.from ?? null,
    to: f.to ?? null,
    serviceIds,
    clientIds: list('clientIds', f.clientIds),
    actions: list('actions', f.actions),
    statuses: list('statuses', f.statuses),
    succeeded: f.succeeded ?? null,
    roles: list('roles', f.roles),
    clientIps,
    hsmIds: list('hsmIds', f.hsmIds),
    objectId: f.objectId == null ? null : storableText(f.objectId, 'filter.objectId'),
    empty: false,
  };
  filter.empty =
    (filter.from !== null && filter.to !== null && filter.from.getTime() >= filter.to.getTime()) ||
    [
      filter.serviceIds,
      filter.clientIds,
      filter.actions,
      filter.statuses,
      filter.roles,
      filter.clientIps,
      filter.hsmIds,
    ].some((l) => l !== null && l.length === 0);
  return filter;
}

/** A stable text key of a filter (for loader batching). */
export function filterKey(filter: AuditFilter): string {
  return JSON.stringify({ ...filter, from: filter.from?.toISOString() ?? null, to: filter.to?.toISOString() ?? null });
}

/** Whether the hourly rollups can answer this filter exactly. */
export function rollupCanAnswer(filter: AuditFilter): boolean {
  const onHour = (d: Date | null) => d === null || d.getTime() % 3_600_000 === 0;
  return (
    onHour(filter.from) &&
    onHour(filter.to) &&
    filter.clientIps === null &&
    filter.hsmIds === null &&
    filter.objectId === null &&
    !filter.pinFailures
  );
}

function anyOf(column: RawBuilder<unknown>, values: string[]): RawBuilder<unknown> {
  // One value: plain equality gives the planner the (column, time, id) index with its order.
  return values.length === 1 ? sql`${column} = ${values[0]}` : sql`${column} = any(${values}::text[])`;
}

/**
 * The relations a filter can be applied to: events, hourly rollups (`hour`), daily rollups (`day`, no client/role),
 * per-client daily rollups (`day`, no action/role).
 */
export type FilterTarget = 'events' | 'hourly' | 'daily' | 'daily-client';

/**
 * The filter as a parameterised SQL condition over `alias`: an `audit_events` row, or a rollup row
 * (times then compare its `hour` or `day` column; the dimensions a rollup lacks must not be filtered).
 */
export function filterCondition(
  filter: AuditFilter,
  alias: string,
  target: FilterTarget = 'events',
): RawBuilder<unknown> {
  const col = (name: string) => sql.ref(`${alias}.${name}`);
  const parts: RawBuilder<unknown>[] = [];
  if (filter.empty) return sql`false`;
  const time = col(target === 'events' ? 'time' : target === 'hourly' ? 'hour' : 'day');
  const daily = target === 'daily' || target === 'daily-client';
  if (filter.from) parts.push(sql`${time} >= ${filter.from.toISOString()}::timestamptz`);
  if (filter.to) parts.push(sql`${time} < ${filter.to.toISOString()}::timestamptz`);
  if (filter.serviceIds) parts.push(anyOf(col('service_id'), filter.serviceIds));
  if (filter.clientIds && target !== 'daily') parts.push(anyOf(col('client_id'), filter.clientIds));
  // The per-client daily rollups have no action (the tier is not chosen for a filter by action).
  if (filter.actions && target !== 'daily-client') parts.push(anyOf(col('action'), filter.actions));
  if (filter.statuses) parts.push(anyOf(col('status'), filter.statuses));
  if (filter.succeeded === true) parts.push(sql`${col('status')} = ${RET_OK}`);
  if (filter.succeeded === false) parts.push(sql`${col('status')} <> ${RET_OK}`);
  if (filter.roles && !daily) parts.push(anyOf(col('role'), filter.roles));
  if (target === 'events') {
    if (filter.clientIps) parts.push(sql`${col('client_ip')} <<= any(${filter.clientIps}::inet[])`);
    if (filter.hsmIds) parts.push(anyOf(col('hsm_id'), filter.hsmIds));
    if (filter.objectId !== null) parts.push(sql`${col('object_ids')} @> array[${filter.objectId}]::text[]`);
    if (filter.pinFailures)
      parts.push(
        sql`((${col('action')} = 'LUNA_LOGIN' and ${col('status')} <> ${RET_OK}) or ${col('status')} = any(${[...PIN_FAILURE_STATUSES]}::text[]))`,
      );
  }
  return parts.length === 0 ? sql`true` : sql.join(parts, sql` and `);
}
