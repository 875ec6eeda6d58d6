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

interface FindingRow {
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

/** The filter as SQL over `findings f`, confined to the caller's services. */
function conditions(filter: FindingFilterInput | null | undefined, auth: AuthScope): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  const f = filter ?? {};
  if (f.from) parts.push(sql`f.last_seen >= ${f.from}`);
  if (f.to) parts.push(sql`f.first_seen < ${f.to}`);
  if (f.rules) parts.push(sql`f.rule = any(${[...f.rules]}::text[])`);
  if (f.severities) parts.push(sql`f.severity = any(${[...f.severities]}::text[])`);
  if (f.serviceIds) parts.push(sql`f.service_id = any(${[...f.serviceIds]}::text[])`);
  if (f.clientIds) parts.push(sql`f.client_id = any(${[...f.clientIds]}::text[])`);
  if (f.status) parts.push(sql`f.status = ${f.status}`);
  if (auth.serviceIds !== null) parts.push(sql`f.service_id = any(${[...auth.serviceIds]}::text[])`);
  return parts.length === 0 ? sql`true` : sql.join(parts, sql` and `);
}

/** A page of findings, newest first (keyset on first seen, id), with the filter's total. */
export async function fetchFindings(
  db: Kysely<Database>,
  filter: FindingFilterInput | null | undefined,
  auth: AuthScope,
  request: PageRequest<EventPosition>,
): Promise<{ findings: FindingRecord[]; hasNextPage: boolean; hasPreviousPage: boolean; totalCount: number }> {
  const where = conditions(filter, auth);
  const backward = request.direction === 'backward';
  const dir = sql.raw(backward ? 'asc' : 'desc');
  const c = request.cursor;
  const at = c ? sql`(${microsToIso(c.timeUs)}::timestamptz, ${c.id}::bigint)` : null;
  const after = at ? sql`(f.first_seen, f.id) ${sql.raw(backward ? '>' : '<')} ${at}` : sql`true`;
  const other = at
    ? sql`exists (select 1 from findings f where ${where} and (f.first_seen, f.id) ${sql.raw(backward ? '<=' : '>=')} ${at})`
    : sql`false`;
  const { rows } = await sql<FindingRow>`
    select ${COLUMNS} from findings f where ${where} and ${after}
     order by f.first_seen ${dir}, f.id ${dir} limit ${request.size + 1}`.execute(db);
  const { rows: meta } = await sql<{ total: number; has_other: boolean }>`
    select (select count(*)::int from findings f where ${where}) as total, ${other} as has_other`.execute(db);
  const more = rows.length > request.size;
  const page = rows.slice(0, request.size);
  if (backward) page.reverse();
  const hasOther = meta[0]?.has_other ?? false;
  return {
    findings: page.map(toRecord),
    hasNextPage: backward ? hasOther : more,
    hasPreviousPage: backward ? more : hasOther,
    totalCount: meta[0]?.total ?? 0,
  };
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
