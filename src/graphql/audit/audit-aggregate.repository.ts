import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../db/database';
import {
  emptyAggregate,
  NO_ROLE_KEY,
  sortBuckets,
  type AggregateDimension,
  type AggregateNeed,
  type AggregateValue,
} from './audit-aggregate';
import { chooseTier, rollupRelation, tenantWideCanServe, type AggregateTier } from './audit-aggregate-source';
import { filterCondition, RET_OK, type AuditFilter } from './audit-filter';
import type { ParentDimension } from './audit-scope';

const DIMENSION_COLUMN: Record<AggregateDimension, string> = {
  action: 'action',
  status: 'status',
  role: 'role',
  client: 'client_id',
  service: 'service_id',
};

interface GroupedRow {
  parent: string | null;
  g: number;
  c: string;
  f: string | null;
  lo: Date | null;
  hi: Date | null;
  first: Date | null;
  last: Date | null;
  [k: `k${number}`]: string | Date | null;
}

/**
 * Computes every requested part of the aggregate of each parent in ONE statement: a GROUPING SETS
 * query over the daily or hourly rollups when they can answer exactly (see {@link chooseTier}), else
 * over the events. With hourly rollups, `first`/`last` are refined to the exact event time inside the
 * first/last hour by an indexed subquery.
 */
export async function computeAggregates(
  db: Kysely<Database>,
  filter: AuditFilter,
  dimension: ParentDimension | null,
  parents: readonly (string | null)[],
  needs: readonly AggregateNeed[],
  /** Restricts the tier (tests compare tiers); default `auto`, the cheapest exact one. */
  force: 'auto' | AggregateTier = 'auto',
): Promise<AggregateValue[]> {
  if (filter.empty) return parents.map(() => emptyAggregate());
  const tier = chooseTier(filter, needs, force, dimension);
  const useRollup = tier !== 'events';
  const r = (n: string) => sql.ref(`r.${n}`);
  const t = useRollup ? r('t') : r('time');
  const cnt = useRollup ? r('count') : sql`1`;

  // The breakdown columns, in a fixed order; grouping() gives one bit per column.
  const columns: { need: AggregateNeed; expr: RawBuilder<unknown> }[] = [];
  const seen = new Set<string>();
  for (const need of needs) {
    const key = JSON.stringify(need);
    if (seen.has(key)) continue;
    seen.add(key);
    if (need.kind === 'dimension') {
      const c = r(DIMENSION_COLUMN[need.dimension]);
      columns.push({ need, expr: need.dimension === 'role' ? sql`coalesce(${c}, ${sql.lit(NO_ROLE_KEY)})` : c });
    } else if (need.kind === 'timeline') {
      // Rollup rows already start on their bucket when the tier's grain equals the interval.
      const aligned =
        ((tier === 'daily' || tier === 'daily-client') && need.interval === 'DAY') ||
        (tier === 'hourly' && need.interval === 'HOUR');
      columns.push({ need, expr: aligned ? t : sql`date_trunc(${sql.lit(need.interval.toLowerCase())}, ${t}, 'UTC')` });
    }
  }
  const needBounds = needs.some((n) => n.kind === 'bounds');
  const parentExpr = dimension ? r(dimension) : sql`null::text`;
  const parentCond = dimension ? sql`${r(dimension)} = any(${parents}::text[])` : sql`true`;
  const allBits = (1 << columns.length) - 1;
  const sets = [
    dimension ? sql`(${parentExpr})` : sql`()`,
    ...columns.map((c) => (dimension ? sql`(${parentExpr}, ${c.expr})` : sql`(${c.expr})`)),
  ];
  const groupingExpr = columns.length > 0 ? sql`grouping(${sql.join(columns.map((c) => c.expr))})` : sql`0`;
  const keyColumns = columns.map((c, i) => sql`${c.expr} as ${sql.ref(`k${i}`)}`);
  const relation =
    tier === 'events'
      ? sql`audit_events r`
      : rollupRelation(filter, tier, tier === 'daily' && tenantWideCanServe(filter, needs, dimension));
  const relationFilter = tier === 'events' ? filterCondition(filter, 'r') : sql`true`;

  const refine = useRollup && needBounds;
  const eventParent = (alias: string) => (dimension ? sql`${sql.ref(`${alias}.${dimension}`)} = g.parent` : sql`true`);
  const firstExpr = refine
    ? sql`case when g.g = ${allBits} and g.lo is not null then (select min(e.time) from audit_events e
            where ${eventParent('e')} and ${filterCondition(filter, 'e')} and e.time >= g.lo and e.time < g.lo + interval '1 hour') end`
    : sql`g.lo`;
  const lastExpr = refine
    ? sql`case when g.g = ${allBits} and g.hi is not null then (select max(e.time) from audit_events e
            where ${eventParent('e')} and ${filterCondition(filter, 'e')} and e.time >= g.hi and e.time < g.hi + interval '1 hour') end`
    : sql`g.hi`;

  const result = await sql<GroupedRow>`
    with g as (
      select ${parentExpr} as parent, ${groupingExpr} as g,
             ${keyColumns.length > 0 ? sql`${sql.join(keyColumns)},` : sql``}
             sum(${cnt})::bigint as c,
             (sum(${cnt}) filter (where ${r('status')} <> ${RET_OK}))::bigint as f,
             ${needBounds ? sql`min(${t}) as lo, max(${t}) as hi` : sql`null::timestamptz as lo, null::timestamptz as hi`}
        from ${relation}
       where ${parentCond} and ${relationFilter}
       group by grouping sets (${sql.join(sets)})
    )
    select g.*, ${firstExpr} as first, ${lastExpr} as last from g`.execute(db);

  const values = new Map<string | null, AggregateValue>();
  const valueOf = (parent: string | null) => {
    let v = values.get(parent);
    if (!v) {
      v = { ...emptyAggregate(), source: tier };
      for (const { need } of columns) {
        if (need.kind === 'dimension') v.dimensions[need.dimension] = [];
        else if (need.kind === 'timeline') v.timelines[need.interval] = [];
      }
      values.set(parent, v);
    }
    return v;
  };
  for (const row of result.rows) {
    const v = valueOf(row.parent);
    const count = Number(row.c);
    const failed = Number(row.f ?? 0);
    const g = Number(row.g);
    if (g === allBits) {
      v.count = count;
      v.failed = failed;
      // Without a bounds need, lo/hi may be rollup bucket starts: not exact, so not reported.
      v.first = needBounds ? row.first : null;
      v.last = needBounds ? row.last : null;
      continue;
    }
    const index = columns.findIndex((_, i) => g === allBits - (1 << (columns.length - 1 - i)));
    const column = columns[index];
    if (!column) continue;
    const key = row[`k${index}`];
    if (column.need.kind === 'dimension') v.dimensions[column.need.dimension]!.push({ key: String(key), count });
    else if (column.need.kind === 'timeline')
      v.timelines[column.need.interval]!.push({ start: key as Date, count, failed });
  }
  for (const v of values.values()) {
    for (const list of Object.values(v.dimensions)) sortBuckets(list);
    for (const list of Object.values(v.timelines)) list.sort((a, b) => a.start.getTime() - b.start.getTime());
  }
  return parents.map((p) => values.get(p) ?? { ...emptyAggregate(), source: tier });
}

/** Finds, for each client, the service it was last seen acting on (from the rollups), or null. */
export async function fetchClientHomes(db: Kysely<Database>, clientIds: readonly string[]): Promise<(string | null)[]> {
  const result = await sql<{ client_id: string; service_id: string }>`
    select distinct on (client_id) client_id, service_id
      from audit_rollups_hourly
     where client_id = any(${clientIds}::text[])
     order by client_id, hour desc, service_id`.execute(db);
  const homes = new Map(result.rows.map((r) => [r.client_id, r.service_id]));
  return clientIds.map((id) => homes.get(id) ?? null);
}
