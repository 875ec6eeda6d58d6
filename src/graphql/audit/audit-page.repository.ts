import { sql, type Kysely, type RawBuilder } from 'kysely';
import { prepared } from '../../db/connection';
import type { Database } from '../../db/database';
import type { PageRequest } from '../pagination/page-request';
import {
  rowToAuditEvent,
  microsToIso,
  type AuditEvent,
  type AuditEventSqlRow,
  type EventPosition,
} from './audit-event';
import { filterCondition, type AuditFilter } from './audit-filter';
import type { EventOrder, ParentDimension } from './audit-scope';
import type { EventProjection } from './event-projection';

/** One page of events with exact neighbours. */
export interface EventPage {
  events: AuditEvent[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/**
 * The select list of an event, over the alias `e`. One raw fragment rather than a reference per column:
 * the statement is compiled on every page request.
 */
export const EVENT_COLUMNS = sql.raw(`e.id, (extract(epoch from e.time) * 1000000)::bigint::text as time_us,
    e.source, e.partition_id, e.service_id, e.client_id, e.tenant_id, e.trace_id, e.action, e.status,
    host(e.client_ip) as client_ip, e.hsm_id, e.object_ids, e.partition_serial, e.role, e.meta_malformed,
    coalesce(e.meta_raw, e.meta::text) as meta_raw`);

/**
 * The select list of a lean page (event-projection.ts): the same names, the columns no selected field reads as
 * nulls. PostgreSQL then sends, and `pg` parses, a few short columns per row instead of the meta text and arrays.
 */
const LEAN_EVENT_COLUMNS = sql.raw(`e.id, (extract(epoch from e.time) * 1000000)::bigint::text as time_us,
    null as source, null as partition_id, e.service_id, e.client_id, null as tenant_id, null as trace_id, e.action,
    e.status, null as client_ip, null as hsm_id, null as object_ids, null as partition_serial, null as role,
    false as meta_malformed, null as meta_raw`);

function positionCondition(alias: string, position: EventPosition, op: '<' | '>' | '<=' | '>='): RawBuilder<unknown> {
  const t = sql.ref(`${alias}.time`);
  const id = sql.ref(`${alias}.id`);
  return sql`(${t}, ${id}) ${sql.raw(op)} (${microsToIso(position.timeUs)}::timestamptz, ${position.id}::bigint)`;
}

/**
 * Reads one keyset page for each parent in ONE statement (a lateral join per parent; `parents` = [null]
 * without a parent dimension). Fetches one extra row for an exact hasNext/hasPrevious, and checks the
 * other side of the cursor with an indexed EXISTS in the same statement.
 */
export async function fetchEventPages(
  db: Kysely<Database>,
  filter: AuditFilter,
  dimension: ParentDimension | null,
  parents: readonly (string | null)[],
  order: EventOrder,
  request: PageRequest<EventPosition>,
  projection: EventProjection = 'full',
): Promise<EventPage[]> {
  const columns = projection === 'lean' ? LEAN_EVENT_COLUMNS : EVENT_COLUMNS;
  const backward = request.direction === 'backward';
  const scanAsc = (order === 'TIME_ASC') !== backward;
  const dir = sql.raw(scanAsc ? 'asc' : 'desc');
  const parentCond = (alias: string) => (dimension ? sql`${sql.ref(`${alias}.${dimension}`)} = p.parent` : sql`true`);
  const cursor = request.cursor;
  const pageCursorCond = cursor ? positionCondition('e', cursor, scanAsc ? '>' : '<') : sql`true`;
  const otherSide = cursor
    ? sql`exists (select 1 from audit_events x where ${parentCond('x')} and ${filterCondition(filter, 'x')} and ${positionCondition('x', cursor, scanAsc ? '<=' : '>=')})`
    : sql`false`;
  if (!dimension) {
    // One page without parents: a plain keyset scan; the other side of the cursor is an InitPlan evaluated once.
    const single = await prepared(sql<AuditEventSqlRow & { has_other: boolean }>`
      select (${otherSide}) as has_other, ${columns}
        from audit_events e
       where ${filterCondition(filter, 'e')} and ${pageCursorCond}
       order by e.time ${dir}, e.id ${dir}
       limit ${request.size + 1}`).execute(db);
    let hasOther = single.rows[0]?.has_other ?? false;
    if (single.rows.length === 0 && cursor) {
      // Past the last row: the scan returned nothing to carry the flag, so ask on its own.
      hasOther = (await sql<{ has_other: boolean }>`select (${otherSide}) as has_other`.execute(db)).rows[0]!.has_other;
    }
    return parents.map(() => toPage(single.rows, hasOther, request.size, backward));
  }
  const source = sql`unnest(${parents}::text[]) with ordinality as p(parent, ord)`;
  const result = await sql<AuditEventSqlRow & { parent: string | null; ord: string; has_other: boolean }>`
    select p.parent, p.ord::text as ord, o.has_other, ${columns}
      from ${source}
      cross join lateral (select ${otherSide} as has_other) o
      left join lateral (
        select *
          from audit_events e
         where ${parentCond('e')} and ${filterCondition(filter, 'e')} and ${pageCursorCond}
         order by e.time ${dir}, e.id ${dir}
         limit ${request.size + 1}
      ) e on true
     order by p.ord, e.time ${dir}, e.id ${dir}`.execute(db);
  const byOrd = new Map<string, { rows: AuditEventSqlRow[]; hasOther: boolean }>();
  for (const row of result.rows) {
    const entry = byOrd.get(row.ord) ?? { rows: [], hasOther: row.has_other };
    if (row.id !== null) entry.rows.push(row);
    byOrd.set(row.ord, entry);
  }
  return parents.map((_, i) => {
    const entry = byOrd.get(String(i + 1)) ?? { rows: [], hasOther: false };
    return toPage(entry.rows, entry.hasOther, request.size, backward);
  });
}

/** A page from its scanned rows (one extra beyond `size` means more) and whether rows lie behind the cursor. */
function toPage(scanned: AuditEventSqlRow[], hasOther: boolean, size: number, backward: boolean): EventPage {
  const more = scanned.length > size;
  const rows = scanned.slice(0, size);
  if (backward) rows.reverse();
  return {
    events: rows.map(rowToAuditEvent),
    hasNextPage: backward ? hasOther : more,
    hasPreviousPage: backward ? more : hasOther,
  };
}

/** Loads events by keyset position (global ids) in one statement; null for unknown positions. */
export async function fetchEventsByPosition(
  db: Kysely<Database>,
  positions: readonly EventPosition[],
): Promise<(AuditEvent | null)[]> {
  if (positions.length === 0) return [];
  const times = positions.map((p) => microsToIso(p.timeUs));
  const ids = positions.map((p) => p.id);
  const result = await sql<AuditEventSqlRow>`
    select ${EVENT_COLUMNS}
      from unnest(${times}::timestamptz[], ${ids}::bigint[]) as k(time, id)
      cross join lateral (select * from audit_events x where x.time = k.time and x.id = k.id) e`.execute(db);
  const byKey = new Map(result.rows.map((r) => [`${r.time_us}:${r.id}`, rowToAuditEvent(r)]));
  return positions.map((p) => byKey.get(`${p.timeUs}:${p.id}`) ?? null);
}

/** A committed batch as its notice names it (see src/db/channels.ts). */
export interface CommittedBatch {
  run: string;
  /** The transaction that inserted its rows (their `xmin`). */
  xid: string;
  /** Its earliest and latest event time (ISO-8601). */
  from: string;
  to: string;
}

/**
 * Up to `size` events of one committed batch that match `filter`, in keyset order after `after` (live delivery: the
 * transaction that inserted the rows names exactly them; the time span prunes partitions and drives the index).
 */
export async function fetchBatchEvents(
  db: Kysely<Database>,
  filter: AuditFilter,
  batch: CommittedBatch,
  after: EventPosition | null,
  size: number,
): Promise<AuditEvent[]> {
  const past = after ? positionCondition('e', after, '>') : sql`true`;
  const { rows } = await sql<AuditEventSqlRow>`
    select ${EVENT_COLUMNS}
      from audit_events e
     where e.time >= ${batch.from}::timestamptz and e.time <= ${batch.to}::timestamptz
       and e.ingest_run_id = ${batch.run}::bigint and e.xmin = ${batch.xid}::xid
       and ${filterCondition(filter, 'e')} and ${past}
     order by e.time, e.id
     limit ${size}`.execute(db);
  return rows.map(rowToAuditEvent);
}
