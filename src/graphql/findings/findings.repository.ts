import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../db/database';
import { parseEvidence } from '../../detect/evidence';
import { microsToIso, type EventPosition } from '../audit/audit-event';
import type { AuthScope } from '../auth-scope';
import type { PageRequest } from '../pagination/page-request';
import type {
  FindingFilterInput,
  FindingRecord,
  FindingRule,
  FindingSeverity,
  FindingStatus,
} from '../types/finding.types';

/** A stored finding as selected by {@link COLUMNS} (the webhook payload reads the same columns). */
export interface FindingRow {
  id: string;
  rule: string;
  severity: string;
  status: string;
  service_id: string;
  client_id: string | null;
  subject: string | null;
  first_seen: Date;
  last_seen: Date;
  count: number;
  summary: string;
  raised_at: Date;
  updated_at: Date;
  acknowledged_by: string | null;
  acknowledged_at: Date | null;
  acknowledge_note: string | null;
  first_us: string;
  last_us: string;
  evidence: unknown;
}

const COLUMNS = sql`f.id::text as id, f.rule, f.severity, f.status, f.service_id, f.client_id, f.subject, f.first_seen,
  f.last_seen, f.count, f.summary, f.raised_at, f.updated_at, f.acknowledged_by, f.acknowledged_at, f.acknowledge_note,
  (extract(epoch from f.first_seen) * 1000000)::bigint::text as first_us,
  (extract(epoch from f.last_seen) * 1000000)::bigint::text as last_us, f.evidence`;

function toRecord(r: FindingRow): FindingRecord {
  return {
    id: r.id,
    rule: r.rule as FindingRule,
    severity: r.severity as FindingSeverity,
    status: r.status as FindingStatus,
    serviceId: r.service_id,
    clientId: r.client_id,
    subject: r.subject,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    count: r.count,
    summary: r.summary,
    raisedAt: r.raised_at,
    updatedAt: r.updated_at,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: r.acknowledged_at,
    acknowledgeNote: r.acknowledge_note,
    evidence: parseEvidence(r.evidence),
    lastSeenUs: r.last_us,
    position: { timeUs: r.first_us, id: r.id },
  };
}

/** The filter as SQL over `findings <alias>`, confined to the caller's services. */
function conditions(
  filter: FindingFilterInput | null | undefined,
  auth: Pick<AuthScope, 'serviceIds'>,
  alias = 'f',
): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  const c = (column: string) => sql.ref(`${alias}.${column}`);
  const f = filter ?? {};
  if (f.from) parts.push(sql`${c('last_seen')} >= ${f.from}`);
  if (f.to) parts.push(sql`${c('first_seen')} < ${f.to}`);
  if (f.rules) parts.push(sql`${c('rule')} = any(${[...f.rules]}::text[])`);
  if (f.severities) parts.push(sql`${c('severity')} = any(${[...f.severities]}::text[])`);
  if (f.serviceIds) parts.push(sql`${c('service_id')} = any(${[...f.serviceIds]}::text[])`);
  if (f.clientIds) parts.push(sql`${c('client_id')} = any(${[...f.clientIds]}::text[])`);
  if (f.status) parts.push(sql`${c('status')} = ${f.status}`);
  if (auth.serviceIds !== null) parts.push(sql`${c('service_id')} = any(${[...auth.serviceIds]}::text[])`);
  return parts.length === 0 ? sql`true` : sql.join(parts, sql` and `);
}

/** The column a nested findings connection is confined by (Service.findings, Client.findings). */
export type FindingDimension = 'service_id' | 'client_id';

/** What a findings connection reads: the filter, the caller's scope, and its parent (null for Query.findings). */
export interface FindingScope {
  filter: FindingFilterInput | null;
  serviceIds: readonly string[] | null;
  dimension: FindingDimension | null;
}

/** One page of findings with exact neighbours. */
export interface FindingPage {
  findings: FindingRecord[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/** `unnest(parents) as p(parent, ord)` and the condition tying `findings <alias>` to `p.parent`. */
function parentsOf(scope: FindingScope, parents: readonly (string | null)[]) {
  const source = sql`unnest(${parents}::text[]) with ordinality as p(parent, ord)`;
  const cond = (alias: string) =>
    scope.dimension ? sql`${sql.ref(`${alias}.${scope.dimension}`)} = p.parent` : sql`true`;
  return { source, cond };
}

/**
 * Reads one page of findings, newest first (keyset on first seen, id), for each parent in ONE statement (a lateral
 * join per parent; `parents` = [null] without a dimension). One extra row tells whether more follow; an indexed
 * EXISTS per parent tells whether rows lie behind the cursor.
 */
export async function fetchFindingPages(
  db: Kysely<Database>,
  scope: FindingScope,
  parents: readonly (string | null)[],
  request: PageRequest<EventPosition>,
): Promise<FindingPage[]> {
  const { source, cond } = parentsOf(scope, parents);
  const where = (alias: string) => sql`${cond(alias)} and ${conditions(scope.filter, scope, alias)}`;
  const backward = request.direction === 'backward';
  const dir = sql.raw(backward ? 'asc' : 'desc');
  const c = request.cursor;
  const at = c ? sql`(${microsToIso(c.timeUs)}::timestamptz, ${c.id}::bigint)` : null;
  const after = at ? sql`(f.first_seen, f.id) ${sql.raw(backward ? '>' : '<')} ${at}` : sql`true`;
  const other = at
    ? sql`exists (select 1 from findings x where ${where('x')} and (x.first_seen, x.id) ${sql.raw(backward ? '<=' : '>=')} ${at})`
    : sql`false`;
  const { rows } = await sql<Partial<FindingRow> & { ord: string; has_other: boolean }>`
    select p.ord::text as ord, o.has_other, f.*
      from ${source}
      cross join lateral (select ${other} as has_other) o
      left join lateral (
        select ${COLUMNS} from findings f where ${where('f')} and ${after}
         order by f.first_seen ${dir}, f.id ${dir} limit ${request.size + 1}
      ) f on true
     order by p.ord, f.first_us::bigint ${dir}, f.id::bigint ${dir}`.execute(db);
  const byOrd = new Map<string, { rows: FindingRow[]; hasOther: boolean }>();
  for (const row of rows) {
    const entry = byOrd.get(row.ord) ?? { rows: [], hasOther: row.has_other };
    if (row.id != null) entry.rows.push(row as FindingRow);
    byOrd.set(row.ord, entry);
  }
  return parents.map((_, i) => {
    const entry = byOrd.get(String(i + 1)) ?? { rows: [], hasOther: false };
    const more = entry.rows.length > request.size;
    const page = entry.rows.slice(0, request.size);
    if (backward) page.reverse();
    return {
      findings: page.map(toRecord),
      hasNextPage: backward ? entry.hasOther : more,
      hasPreviousPage: backward ? more : entry.hasOther,
    };
  });
}

/** How many findings match the scope for each parent, in ONE statement. */
export async function fetchFindingCounts(
  db: Kysely<Database>,
  scope: FindingScope,
  parents: readonly (string | null)[],
): Promise<number[]> {
  const { source, cond } = parentsOf(scope, parents);
  const { rows } = await sql<{ ord: string; total: number }>`
    select p.ord::text as ord,
           (select count(*)::int from findings f where ${cond('f')} and ${conditions(scope.filter, scope, 'f')}) as total
      from ${source}`.execute(db);
  const byOrd = new Map(rows.map((r) => [r.ord, r.total]));
  return parents.map((_, i) => byOrd.get(String(i + 1)) ?? 0);
}

/** Marks a finding acknowledged (who, when, a note); null when it does not exist or the caller may not see it. */
export async function acknowledge(
  db: Kysely<Database>,
  id: string,
  by: string,
  note: string | null,
  auth: AuthScope,
): Promise<FindingRecord | null> {
  const scope = auth.serviceIds === null ? sql`true` : sql`f.service_id = any(${[...auth.serviceIds]}::text[])`;
  const { rows } = await sql<FindingRow>`
    update findings f set status = 'ACKNOWLEDGED', acknowledged_by = ${by}, acknowledged_at = now(),
                          acknowledge_note = ${note}, updated_at = now()
     where f.id = ${id}::bigint and ${scope}
     returning ${COLUMNS}`.execute(db);
  return rows[0] ? toRecord(rows[0]) : null;
}

/** One finding by id if it matches the filter and the caller may see it (live delivery), else null. */
export async function fetchFindingIfMatches(
  db: Kysely<Database>,
  id: string,
  filter: FindingFilterInput | null | undefined,
  auth: AuthScope,
): Promise<FindingRecord | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  const { rows } = await sql<FindingRow>`
    select ${COLUMNS} from findings f where f.id = ${id}::bigint and ${conditions(filter, auth)}`.execute(db);
  return rows[0] ? toRecord(rows[0]) : null;
}
