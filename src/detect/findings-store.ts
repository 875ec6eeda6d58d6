import type pg from 'pg';
import { ruleOf, type RuleCode } from './catalog';
import { evidenceCondition, type Evidence } from './evidence';

/** What a rule found in a pass: a new or known episode (`fingerprint`), or more of a stored one (`extends`). */
export interface Candidate {
  rule: RuleCode;
  serviceId: string;
  clientId: string;
  /** What the episode is about within its client (an address prefix, an action), or null. */
  subject: string | null;
  /**
   * The episode's identity (its rule, group and first event): the same episode seen by any pass gets the same
   * fingerprint. Null when the candidate only extends the finding `extends`.
   */
  fingerprint: string | null;
  /** The id of the stored finding this candidate goes on (when `fingerprint` is null). */
  extends?: string;
  /** First and last event times, as PostgreSQL prints them (microseconds kept). */
  firstSeen: string;
  lastSeen: string;
  evidence: Evidence;
  /** The finding's one-line summary, given its event count. */
  summary: (count: number) => string;
}

/** A stored finding's group and span. */
export interface StoredEpisode {
  id: string;
  firstSeen: string;
  lastSeen: string;
  lastSeenMs: number;
}

/**
 * The group's finding whose last event is latest, if that is at or after `notBefore` (an episode that may go on).
 */
export async function latestFinding(
  c: pg.ClientBase,
  group: { rule: RuleCode; serviceId: string; clientId: string; subject: string | null },
  notBefore: Date,
): Promise<StoredEpisode | null> {
  const { rows } = await c.query<{ id: string; first_seen: string; last_seen: string; last_ms: string }>(
    `select id::text, first_seen::text, last_seen::text, (extract(epoch from last_seen) * 1000)::bigint::text as last_ms
       from findings
      where rule = $1 and service_id = $2 and client_id = $3 and subject is not distinct from $4 and last_seen >= $5
      order by last_seen desc limit 1`,
    [group.rule, group.serviceId, group.clientId, group.subject, notBefore],
  );
  const r = rows[0];
  return r ? { id: r.id, firstSeen: r.first_seen, lastSeen: r.last_seen, lastSeenMs: Number(r.last_ms) } : null;
}

/** The id of the finding with this fingerprint, if stored. */
export async function findingId(c: pg.ClientBase, fingerprint: string): Promise<string | null> {
  const { rows } = await c.query<{ id: string }>('select id::text from findings where fingerprint = $1', [fingerprint]);
  return rows[0]?.id ?? null;
}

export type Applied = 'raised' | 'extended' | 'unchanged';

/** What {@link applyCandidate} did, and to which finding. */
export interface AppliedCandidate {
  applied: Applied;
  id: string;
}

/**
 * Stores a candidate: inserts its episode, or widens the stored one to cover it, then counts its evidence events
 * from the store (so passes that overlap, repeat or run in any order leave the same row). Runs inside the detection
 * pass's transaction, under its lock.
 */
export async function applyCandidate(c: pg.ClientBase, cand: Candidate): Promise<AppliedCandidate> {
  const rule = ruleOf(cand.rule);
  let id: string;
  let before: { first: string; last: string; count: number } | null = null;
  if (cand.fingerprint === null) {
    if (!cand.extends) throw new Error('a candidate needs a fingerprint or a finding to extend');
    id = cand.extends;
    before = await storedSpan(c, id);
  } else {
    const { rows } = await c.query<{ id: string }>(
      `insert into findings (fingerprint, rule, severity, service_id, client_id, subject, first_seen, last_seen, count,
                             summary, evidence)
       values ($1, $2, $3, $4, $5, $6, $7, $8, 0, '', $9)
       on conflict (fingerprint) do nothing
       returning id::text`,
      [
        cand.fingerprint,
        cand.rule,
        rule.severity,
        cand.serviceId,
        cand.clientId,
        cand.subject,
        cand.firstSeen,
        cand.lastSeen,
        JSON.stringify(cand.evidence),
      ],
    );
    // A row inserted here is new (`before` stays null); one the insert met is read back below.
    const inserted = rows[0]?.id ?? null;
    const known = inserted ?? (await findingId(c, cand.fingerprint));
    if (known === null) throw new Error(`finding ${cand.fingerprint} neither inserted nor found`);
    id = known;
    if (inserted === null) before = await storedSpan(c, id);
  }
  const cond = evidenceCondition(cand.evidence, 4);
  const { rows } = await c.query<{ first: string; last: string; count: number }>(
    `with span as (
       update findings set first_seen = least(first_seen, $2::timestamptz), last_seen = greatest(last_seen, $3::timestamptz)
        where id = $1 returning service_id, client_id, first_seen, last_seen)
     select s.first_seen::text as first, s.last_seen::text as last,
            (select count(*)::int from audit_events e
              where e.service_id = s.service_id and e.client_id = s.client_id
                and e.time >= s.first_seen and e.time <= s.last_seen and ${cond.text}) as count
       from span s`,
    [id, cand.firstSeen, cand.lastSeen, ...cond.values],
  );
  const now = rows[0]!;
  const changed = !before || before.first !== now.first || before.last !== now.last || before.count !== now.count;
  if (changed)
    await c.query('update findings set count = $2, summary = $3, updated_at = now() where id = $1', [
      id,
      now.count,
      cand.summary(now.count),
    ]);
  return { id, applied: before === null ? 'raised' : changed ? 'extended' : 'unchanged' };
}

/** A stored finding's span and count, as {@link applyCandidate} compares them. */
async function storedSpan(
  c: pg.ClientBase,
  id: string,
): Promise<{ first: string; last: string; count: number } | null> {
  const { rows } = await c.query<{ first: string; last: string; count: number }>(
    'select first_seen::text as first, last_seen::text as last, count from findings where id = $1',
    [id],
  );
  return rows[0] ?? null;
}
