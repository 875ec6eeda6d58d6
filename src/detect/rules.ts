import type pg from 'pg';
import {
  DESTRUCTIVE_PO_ACTIONS,
  KEY_EXPORT_ACTIONS,
  PIN_FAILURE_STATUSES,
  type DetectionSettings,
  type RuleCode,
} from './catalog';
import type { ClientDirectory } from './client-directory';
import { evidenceCondition } from './evidence';
import { findingId, latestFinding, type Candidate } from './findings-store';

/** The events a pass looks at: those in [from, to) (a rule reads earlier ones as its history needs). */
export interface DetectRange {
  from: Date;
  to: Date;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** How far back an episode that began before the pass is followed to its first event. */
const EPISODE_HORIZON_MS = 30 * DAY_MS;

/** One event as the rules read it. */
interface Row {
  id: string;
  ms: number;
  /** PostgreSQL's text of the time (microseconds kept). */
  t: string;
  service_id: string;
  client_id: string;
  action: string;
  status: string;
  role: string | null;
  objects: number;
}

const ROW_COLUMNS = `e.id::text as id, (extract(epoch from e.time) * 1000)::float8 as ms, e.time::text as t, e.service_id,
  e.client_id, e.action, e.status, e.role, greatest(coalesce(cardinality(e.object_ids), 0), 1) as objects`;

/** Rows grouped by service and client, each group in time order (the query orders them so). */
function byClient(rows: Row[]): Row[][] {
  const groups: Row[][] = [];
  let key = '';
  for (const r of rows) {
    const k = `${r.service_id}\u0001${r.client_id}`;
    if (k !== key || groups.length === 0) {
      groups.push([]);
      key = k;
    }
    groups[groups.length - 1]!.push(r);
  }
  return groups;
}

/** True when some `count` consecutive items (by their weights) fall within `windowMs`. */
function denseRun(items: { ms: number; weight: number }[], count: number, windowMs: number): boolean {
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < items.length; hi++) {
    sum += items[hi]!.weight;
    while (items[hi]!.ms - items[lo]!.ms > windowMs) sum -= items[lo++]!.weight;
    if (sum >= count) return true;
  }
  return false;
}

/**
 * A login or a PIN failure, spelt exactly as the predicate of the partial index `audit_events_login_pin` (migration
 * 0014), so that PostgreSQL can prove a query's condition implies it and read that index.
 */
export const LOGIN_OR_PIN = `(e.action = 'LUNA_LOGIN' or e.status in (${PIN_FAILURE_STATUSES.map((x) => `'${x}'`).join(', ')}))`;

/** A PIN or login failure, spelt exactly as the predicate of the partial index `audit_events_pin_failures` (0014). */
export const PIN_FAILURE = `((e.action = 'LUNA_LOGIN' and e.status <> 'LUNA_RET_OK') or e.status in (${PIN_FAILURE_STATUSES.map((x) => `'${x}'`).join(', ')}))`;

const isPinFailure = (r: Row) =>
  (r.action === 'LUNA_LOGIN' && r.status !== 'LUNA_RET_OK') ||
  (PIN_FAILURE_STATUSES as readonly string[]).includes(r.status);
const isLoginSuccess = (r: Row) => r.action === 'LUNA_LOGIN' && r.status === 'LUNA_RET_OK';

/**
 * PIN_FAILURE_BURST. Runs of failures are split by a successful login of the same client on the same service; a run
 * with `pinFailures` failures within the window is an episode, identified by its first failure (followed back past
 * the pass's start to the client's last successful login). A run that goes on in a later pass extends it.
 */
async function pinFailureBurst(c: pg.ClientBase, range: DetectRange, s: DetectionSettings): Promise<Candidate[]> {
  const windowMs = s.pinWindowSeconds * 1000;
  const clients = await pinCandidateClients(c, range, s);
  if (clients.length === 0) return [];
  // Answered from the partial index of logins and PIN failures alone (migration 0014), without visiting the table.
  const { rows } = await c.query<Row>(
    `select e.id::text as id, (extract(epoch from e.time) * 1000)::float8 as ms, e.time::text as t, e.service_id,
            e.client_id, e.action, e.status, null::text as role, 1 as objects
       from audit_events e
      where e.client_id = any($3::text[]) and e.time >= $1 and e.time < $2 and ${LOGIN_OR_PIN}
      order by e.service_id, e.client_id, e.time, e.id`,
    [new Date(range.from.getTime() - windowMs), range.to, [...new Set(clients.map((k) => k.clientId))]],
  );
  const wanted = new Set(clients.map((k) => `${k.serviceId}\u0001${k.clientId}`));
  const out: Candidate[] = [];
  const pin = evidenceCondition({ kind: 'pin-failures' }, 4);
  for (const group of byClient(rows)) {
    const { service_id: serviceId, client_id: clientId } = group[0]!;
    if (!wanted.has(`${serviceId}\u0001${clientId}`)) continue;
    // Runs of failures between successful logins; the first run may have begun before the rows read.
    const runs: { rows: Row[]; openStart: boolean }[] = [];
    let current: Row[] = [];
    let sawSuccess = false;
    for (const r of group) {
      if (isLoginSuccess(r)) {
        if (current.length > 0) runs.push({ rows: current, openStart: !sawSuccess });
        current = [];
        sawSuccess = true;
      } else if (isPinFailure(r)) current.push(r);
    }
    if (current.length > 0) runs.push({ rows: current, openStart: !sawSuccess });
    for (const run of runs) {
      const first = run.rows[0]!;
      const last = run.rows[run.rows.length - 1]!;
      const dense = denseRun(
        run.rows.map((r) => ({ ms: r.ms, weight: 1 })),
        s.pinFailures,
        windowMs,
      );
      let start = { id: first.id, t: first.t };
      if (run.openStart) {
        // Follow the run back to the client's last successful login on the service (within the horizon).
        const { rows: back } = await c.query<{ id: string; t: string }>(
          // The client's last successful login before the run: its logins read newest first through the partial
          // index (a max() over 30 days would read every login of every client in that span).
          `with ok as (
             select (select e.time from audit_events e
                      where e.client_id = $2 and e.time < $3::timestamptz and e.time >= $3::timestamptz - interval '30 days'
                        and ${LOGIN_OR_PIN} and e.action = 'LUNA_LOGIN' and e.status = 'LUNA_RET_OK' and e.service_id = $1
                      order by e.time desc limit 1) as at)
           select e.id::text as id, e.time::text as t from audit_events e, ok
            where e.service_id = $1 and e.client_id = $2 and e.time < $3::timestamptz
              and e.time > coalesce(ok.at, $3::timestamptz - interval '30 days') and ${pin.text}
            order by e.time, e.id limit 1`,
          [serviceId, clientId, first.t, ...pin.values],
        );
        const earlier = back[0];
        if (earlier) start = earlier;
      }
      const fingerprint = `PIN_FAILURE_BURST|${serviceId}|${clientId}|${start.id}`;
      if (dense) out.push(pinCandidate(serviceId, clientId, fingerprint, undefined, start.t, last.t, s));
      else if (run.openStart) {
        // Not a burst within this pass alone, but it may go on a run raised before (same first failure).
        const stored = await findingId(c, fingerprint);
        if (stored) out.push(pinCandidate(serviceId, clientId, null, stored, start.t, last.t, s));
      }
    }
  }
  return out;
}

/**
 * The (service, client) pairs PIN_FAILURE_BURST must read events of: those with a run of failures (between
 * successful logins) holding `pinFailures` within a window, found in SQL without sending a row (first the clients with
 * that many failures in a window at all, from the failures' partial index, migration 0014; then their runs), and
 * those with a stored finding whose run may still go on. Routine traffic (a mistyped PIN, then a login) then costs
 * no transfer of logins.
 */
async function pinCandidateClients(
  c: pg.ClientBase,
  range: DetectRange,
  s: DetectionSettings,
): Promise<{ serviceId: string; clientId: string }[]> {
  const windowMs = s.pinWindowSeconds * 1000;
  const { rows } = await c.query<{ service_id: string; client_id: string }>(
    // c0: clients with enough failures within a window (failures alone, from their index); then, for those, the
    // runs between successful logins (as the rule reads them) and the failures within a window inside one run.
    `with f0 as (
       select e.service_id, e.client_id, e.time from audit_events e
        where e.time >= $1 and e.time < $2 and ${PIN_FAILURE}),
     c0 as (
       select distinct service_id, client_id from (
         select service_id, client_id,
                count(*) over (partition by service_id, client_id order by time
                               range between current row and $3 * interval '1 millisecond' following) as n
           from f0) x
        where n >= $4),
     r as (
       select e.service_id, e.client_id, e.time, e.id, (e.action = 'LUNA_LOGIN' and e.status = 'LUNA_RET_OK') as ok
         from audit_events e
        where e.client_id in (select client_id from c0) and e.time >= $1 and e.time < $2 and ${LOGIN_OR_PIN}),
     g as (
       select service_id, client_id, time, ok,
              sum(ok::int) over (partition by service_id, client_id order by time, id rows unbounded preceding) as run
         from r),
     w as (
       select service_id, client_id,
              count(*) over (partition by service_id, client_id, run order by time
                             range between current row and $3 * interval '1 millisecond' following) as n
         from g where not ok)
     select distinct w.service_id, w.client_id from w join c0 using (service_id, client_id) where w.n >= $4
     union
     select distinct service_id, client_id from findings
      where rule = 'PIN_FAILURE_BURST' and last_seen >= $5`,
    [
      new Date(range.from.getTime() - windowMs),
      range.to,
      windowMs,
      s.pinFailures,
      new Date(range.from.getTime() - EPISODE_HORIZON_MS),
    ],
  );
  return rows.map((r) => ({ serviceId: r.service_id, clientId: r.client_id }));
}

function pinCandidate(
  serviceId: string,
  clientId: string,
  fingerprint: string | null,
  extendsId: string | undefined,
  firstSeen: string,
  lastSeen: string,
  s: DetectionSettings,
): Candidate {
  return {
    rule: 'PIN_FAILURE_BURST',
    serviceId,
    clientId,
    subject: null,
    fingerprint,
    ...(extendsId ? { extends: extendsId } : {}),
    firstSeen,
    lastSeen,
    evidence: { kind: 'pin-failures' },
    summary: (n) =>
      `${n} PIN or login failures in a row by client ${clientId} on service ${serviceId} (threshold ${s.pinFailures} within ${s.pinWindowSeconds} s)`,
  };
}

/**
 * DESTRUCTIVE_OPERATION. Each partition-officer zeroize, init, init-PIN or set-PIN is its own finding. Destroys
 * by one client on one service form a cluster while each follows the one before within the window; a cluster with
 * `destroyObjects` objects within the window is an episode, identified by its first destroy (followed back past the
 * pass's start). A cluster that goes on in a later pass extends it.
 */
async function destructiveOperation(c: pg.ClientBase, range: DetectRange, s: DetectionSettings): Promise<Candidate[]> {
  const windowMs = s.destroyWindowSeconds * 1000;
  const { rows } = await c.query<Row>(
    `select ${ROW_COLUMNS} from audit_events e
      where e.time >= $1 and e.time < $2 and e.status = 'LUNA_RET_OK'
        and (e.action = 'LUNA_DESTROY_OBJECT' or (e.action = any($3::text[]) and e.role = 'PO'))
      order by e.service_id, e.client_id, e.time, e.id`,
    [new Date(range.from.getTime() - windowMs), range.to, [...DESTRUCTIVE_PO_ACTIONS]],
  );
  const out: Candidate[] = [];
  // Stored mass-destroy findings an undense cluster of this pass may go on, read once (not one statement per cluster).
  let stored: Promise<Map<string, string>> | null = null;
  const storedDestroys = () =>
    (stored ??= c
      .query<{ fingerprint: string; id: string }>(
        `select fingerprint, id::text as id from findings
          where rule = 'DESTRUCTIVE_OPERATION' and subject = 'LUNA_DESTROY_OBJECT' and last_seen >= $1`,
        [new Date(range.from.getTime() - EPISODE_HORIZON_MS)],
      )
      .then((r) => new Map(r.rows.map((x) => [x.fingerprint, x.id]))));
  for (const group of byClient(rows)) {
    const { service_id: serviceId, client_id: clientId } = group[0]!;
    for (const r of group) {
      if (r.action === 'LUNA_DESTROY_OBJECT') continue;
      out.push({
        rule: 'DESTRUCTIVE_OPERATION',
        serviceId,
        clientId,
        subject: r.action,
        fingerprint: `DESTRUCTIVE_OPERATION|${r.action}|${serviceId}|${clientId}|${r.id}`,
        firstSeen: r.t,
        lastSeen: r.t,
        evidence: { kind: 'actions', actions: [r.action], okOnly: true, roles: ['PO'] },
        summary: () => `${r.action} by the partition officer (client ${clientId}) on service ${serviceId}`,
      });
    }
    const destroys = group.filter((r) => r.action === 'LUNA_DESTROY_OBJECT');
    const clusters: Row[][] = [];
    for (const r of destroys) {
      const cluster = clusters[clusters.length - 1];
      if (cluster && r.ms - cluster[cluster.length - 1]!.ms <= windowMs) cluster.push(r);
      else clusters.push([r]);
    }
    for (const [i, cluster] of clusters.entries()) {
      const first = cluster[0]!;
      const last = cluster[cluster.length - 1]!;
      let start = { id: first.id, t: first.t };
      if (i === 0) start = await clusterStart(c, serviceId, clientId, first, windowMs);
      const fingerprint = `DESTRUCTIVE_OPERATION|LUNA_DESTROY_OBJECT|${serviceId}|${clientId}|${start.id}`;
      const dense = denseRun(
        cluster.map((r) => ({ ms: r.ms, weight: r.objects })),
        s.destroyObjects,
        windowMs,
      );
      const stored = dense ? null : ((await storedDestroys()).get(fingerprint) ?? null);
      if (!dense && !stored) continue;
      out.push({
        rule: 'DESTRUCTIVE_OPERATION',
        serviceId,
        clientId,
        subject: 'LUNA_DESTROY_OBJECT',
        fingerprint: stored ? null : fingerprint,
        ...(stored ? { extends: stored } : {}),
        firstSeen: start.t,
        lastSeen: last.t,
        evidence: { kind: 'actions', actions: ['LUNA_DESTROY_OBJECT'], okOnly: true },
        summary: (n) =>
          `${n} LUNA_DESTROY_OBJECT by client ${clientId} on service ${serviceId} (threshold ${s.destroyObjects} objects within ${s.destroyWindowSeconds} s)`,
      });
    }
  }
  return out;
}

/** The first destroy of the cluster `first` belongs to: walked back while each destroy follows one within the window. */
async function clusterStart(
  c: pg.ClientBase,
  serviceId: string,
  clientId: string,
  first: Row,
  windowMs: number,
): Promise<{ id: string; t: string }> {
  let start = { id: first.id, t: first.t, ms: first.ms };
  const horizon = first.ms - EPISODE_HORIZON_MS;
  for (;;) {
    const { rows } = await c.query<{ id: string; t: string; ms: number }>(
      `select e.id::text as id, e.time::text as t, (extract(epoch from e.time) * 1000)::float8 as ms
         from audit_events e
        where e.action = 'LUNA_DESTROY_OBJECT' and e.status = 'LUNA_RET_OK' and e.service_id = $1 and e.client_id = $2
          and e.time < $3::timestamptz and e.time >= $3::timestamptz - $4 * interval '1 millisecond'
          and e.time >= $5
        order by e.time desc, e.id desc limit 500`,
      [serviceId, clientId, start.t, windowMs, new Date(horizon)],
    );
    if (rows.length === 0) return start;
    // Each row follows the next within the window only while the gaps stay small.
    let prevMs = start.ms;
    for (const r of rows) {
      if (prevMs - r.ms > windowMs) return start;
      start = r;
      prevMs = r.ms;
    }
  }
}

/**
 * KEY_EXPORT_BY_NEW_CLIENT. An export by a client with none on that service in the trailing `historyDays` begins an
 * episode (identified by that export); later exports, each within `historyDays` of the one before, extend it. The
 * store must hold the service's events of those trailing days (it is not "new" in a store's first weeks).
 */
async function keyExportByNewClient(c: pg.ClientBase, range: DetectRange, s: DetectionSettings): Promise<Candidate[]> {
  const historyMs = s.historyDays * DAY_MS;
  const { rows } = await c.query<Row>(
    `select ${ROW_COLUMNS} from audit_events e
      where e.time >= $1 and e.time < $2 and e.action = any($3::text[])
      order by e.service_id, e.client_id, e.time, e.id`,
    [range.from, range.to, [...KEY_EXPORT_ACTIONS]],
  );
  const out: Candidate[] = [];
  const actions = [...KEY_EXPORT_ACTIONS];
  /** When each service's stored history begins: an export is only known to be new where it covers the trailing days. */
  const historyFrom = new Map<string, number | null>();
  for (const group of byClient(rows)) {
    const { service_id: serviceId, client_id: clientId } = group[0]!;
    if (!historyFrom.has(serviceId)) {
      const { rows: f } = await c.query<{ ms: number }>(
        `select (extract(epoch from e.time) * 1000)::float8 as ms from audit_events e
          where e.service_id = $1 order by e.time limit 1`,
        [serviceId],
      );
      historyFrom.set(serviceId, f[0]?.ms ?? null);
    }
    const covered = (ms: number) => {
      const since = historyFrom.get(serviceId);
      return since !== null && since !== undefined && ms - since >= historyMs;
    };
    // Episodes within the rows: a gap longer than the history starts a new one.
    const episodes: Row[][] = [];
    for (const r of group) {
      const ep = episodes[episodes.length - 1];
      if (ep && r.ms - ep[ep.length - 1]!.ms <= historyMs) ep.push(r);
      else episodes.push([r]);
    }
    for (const [i, ep] of episodes.entries()) {
      const first = ep[0]!;
      const last = ep[ep.length - 1]!;
      const base = {
        rule: 'KEY_EXPORT_BY_NEW_CLIENT' as RuleCode,
        serviceId,
        clientId,
        subject: null,
        lastSeen: last.t,
        evidence: { kind: 'actions' as const, actions },
        summary: (n: number) =>
          `client ${clientId} exported key material on service ${serviceId} (${n} of ${actions.join(', ')}), none in the ${s.historyDays} days before`,
      };
      if (i === 0) {
        const { rows: before } = await c.query<{ ms: number }>(
          `select (extract(epoch from e.time) * 1000)::float8 as ms from audit_events e
            where e.action = any($1::text[]) and e.service_id = $2 and e.client_id = $3
              and e.time < $4::timestamptz and e.time >= $4::timestamptz - $5 * interval '1 day'
            order by e.time desc limit 1`,
          [actions, serviceId, clientId, first.t, s.historyDays],
        );
        if (before[0]) {
          // Not new: it goes on the client's episode, if one was raised.
          const stored = await latestFinding(
            c,
            { rule: 'KEY_EXPORT_BY_NEW_CLIENT', serviceId, clientId, subject: null },
            new Date(first.ms - historyMs),
          );
          if (stored) out.push({ ...base, fingerprint: null, extends: stored.id, firstSeen: stored.firstSeen });
          continue;
        }
      }
      // Without the trailing days in the store (its first weeks), nothing says the client never exported.
      if (!covered(first.ms)) continue;
      out.push({
        ...base,
        fingerprint: `KEY_EXPORT_BY_NEW_CLIENT|${serviceId}|${clientId}|${first.id}`,
        firstSeen: first.t,
      });
    }
  }
  return out;
}

/** One (service, client, prefix) of a NEW_CLIENT_ADDRESS pass, read from the address rollups. */
interface AddressKey {
  service_id: string;
  client_id: string;
  prefix: string;
  /** The earliest in-range rollup row's first time (the first in-range event's, unless `began_before`). */
  e_first_t: string;
  e_first_ms: number;
  /** That row's day began with events before the range: the prefix was used within the history already. */
  began_before: boolean;
  /** The latest last time of the in-range rows; only the range's last when not `last_past`. */
  last_t: string;
  last_past: boolean;
  /** Some event of the prefix falls in the history before `e_first_t` (when not `began_before`). */
  seen: boolean;
}

/** The (service, client, prefix) groups with events in the range, from the rollup rows of the range's days. */
const ADDRESS_KEYS = `
  with cand as (
    select service_id, client_id, prefix, day, first_time, last_time from audit_address_rollups_daily
     where day >= date_trunc('day', $1::timestamptz, 'UTC') and day < $2 and last_time >= $1 and first_time < $2
  ), k as (
    select service_id, client_id, prefix, (array_agg(first_time order by day))[1] as e_first, max(last_time) as last_max
      from cand group by 1, 2, 3
  )
  select k.service_id, k.client_id, k.prefix::text as prefix, k.e_first::text as e_first_t,
         (extract(epoch from k.e_first) * 1000)::float8 as e_first_ms, k.e_first < $1 as began_before,
         k.last_max::text as last_t, k.last_max >= $2 as last_past,
         k.e_first >= $1 and exists (
           select 1 from audit_address_rollups_daily r
            where r.service_id = k.service_id and r.client_id = k.client_id and r.prefix = k.prefix
              and r.day >= date_trunc('day', k.e_first - $3 * interval '1 day', 'UTC') and r.day < k.e_first
              and r.first_time < k.e_first and r.last_time >= k.e_first - $3 * interval '1 day') as seen
    from k
   order by 1, 2, 3`;

/**
 * NEW_CLIENT_ADDRESS. The first event of a client on a service from an address prefix (IPv4 /24, IPv6 /64) it did
 * not use there in the trailing `historyDays` begins an episode, identified by that event, unless the client's
 * first event on the service is less than `newClientGraceDays` older. Later events from the prefix extend it.
 *
 * Read from the address rollups (a row per day and prefix with its first and last time): the first in-range use of a
 * prefix and whether it was used in the history before are known from them, except when the range begins inside a day
 * that used the prefix earlier (a follower's pass), where the prefix is known and only its stored finding matters. The
 * events are read only for a new prefix (its first event's id, the client's first event) and for a finding that goes
 * on (the exact first and last in-range times), so a pass without new prefixes costs a few statements.
 */
async function newClientAddress(c: pg.ClientBase, range: DetectRange, s: DetectionSettings): Promise<Candidate[]> {
  const historyMs = s.historyDays * DAY_MS;
  const { rows: keys } = await c.query<AddressKey>(ADDRESS_KEYS, [range.from, range.to, s.historyDays]);
  if (keys.length === 0) return [];
  // Each prefix's latest finding that may go on (as latestFinding picks it), for every prefix at once.
  const { rows: found } = await c.query<{
    service_id: string;
    client_id: string;
    subject: string;
    id: string;
    first_seen: string;
    last_ms: number;
  }>(
    `select distinct on (service_id, client_id, subject) service_id, client_id, subject, id::text, first_seen::text,
            (extract(epoch from last_seen) * 1000)::float8 as last_ms
       from findings
      where rule = 'NEW_CLIENT_ADDRESS' and last_seen >= $1
      order by service_id, client_id, subject, last_seen desc`,
    [new Date(range.from.getTime() - historyMs)],
  );
  const stored = new Map(found.map((f) => [`${f.service_id}\u0001${f.client_id}\u0001${f.subject}`, f]));
  const out: Candidate[] = [];
  const firstEver = new Map<string, number | null>();
  /** The prefix's events in the range, as the rules read them: the first (time, id) and the last time. */
  const inRange = `e.service_id = $1 and e.client_id = $2 and e.client_ip <<= $3::cidr and e.time >= $4 and e.time < $5`;
  for (const g of keys) {
    const episode = stored.get(`${g.service_id}\u0001${g.client_id}\u0001${g.prefix}`);
    const known = g.began_before || g.seen;
    // A known prefix raises nothing; it only matters when a stored finding of it may go on.
    if (known && !episode) continue;
    let firstT = g.e_first_t;
    let firstMs = g.e_first_ms;
    if (g.began_before) {
      const { rows: f } = await c.query<{ t: string; ms: number }>(
        `select e.time::text as t, (extract(epoch from e.time) * 1000)::float8 as ms from audit_events e
          where ${inRange} order by e.time limit 1`,
        [g.service_id, g.client_id, g.prefix, range.from, range.to],
      );
      // A day whose events surround a short range may have none inside it.
      if (!f[0]) continue;
      firstT = f[0].t;
      firstMs = f[0].ms;
    }
    if (known && episode!.last_ms < Math.trunc(firstMs - historyMs)) continue;
    let lastT = g.last_t;
    // Only the row of the day holding `to` can reach past it; the range's last event is then in that day.
    if (g.last_past) {
      const { rows: l } = await c.query<{ t: string }>(
        `select e.time::text as t from audit_events e where ${inRange} order by e.time desc limit 1`,
        [
          g.service_id,
          g.client_id,
          g.prefix,
          new Date(Math.max(range.from.getTime(), range.to.getTime() - DAY_MS)),
          range.to,
        ],
      );
      lastT = l[0]?.t ?? lastT;
    }
    const base = {
      rule: 'NEW_CLIENT_ADDRESS' as RuleCode,
      serviceId: g.service_id,
      clientId: g.client_id,
      subject: g.prefix,
      lastSeen: lastT,
      evidence: { kind: 'address' as const, prefix: g.prefix },
      summary: (n: number) =>
        `client ${g.client_id} acted on service ${g.service_id} from ${g.prefix}, not used in the ${s.historyDays} days before (${n} events)`,
    };
    if (known) {
      out.push({ ...base, fingerprint: null, extends: episode!.id, firstSeen: episode!.first_seen });
      continue;
    }
    const clientKey = `${g.service_id}\u0001${g.client_id}`;
    if (!firstEver.has(clientKey)) {
      const { rows: f } = await c.query<{ ms: number }>(
        `select (extract(epoch from e.time) * 1000)::float8 as ms from audit_events e
          where e.client_id = $1 and e.service_id = $2 order by e.time limit 1`,
        [g.client_id, g.service_id],
      );
      firstEver.set(clientKey, f[0]?.ms ?? null);
    }
    const since = firstEver.get(clientKey);
    if (since === null || since === undefined || firstMs - since < s.newClientGraceDays * DAY_MS) continue;
    const { rows: first } = await c.query<{ id: string }>(
      `select e.id::text as id from audit_events e
        where e.service_id = $1 and e.client_id = $2 and e.client_ip <<= $3::cidr and e.time = $4::timestamptz
        order by e.id limit 1`,
      [g.service_id, g.client_id, g.prefix, firstT],
    );
    out.push({
      ...base,
      fingerprint: `NEW_CLIENT_ADDRESS|${g.service_id}|${g.client_id}|${g.prefix}|${first[0]!.id}`,
      firstSeen: firstT,
    });
  }
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * VOLUME_SPIKE, from the hourly rollups. An hour of a client on a service above `volumeFactor` times the median of
 * its hours (hours without events count as 0) over the trailing `volumeBaselineDays` and above `volumeFloor` is a
 * spike; consecutive spiking hours are one episode, identified by the first. A client with less history than the
 * baseline raises nothing.
 */
async function volumeSpike(c: pg.ClientBase, range: DetectRange, s: DetectionSettings): Promise<Candidate[]> {
  const baselineHours = s.volumeBaselineDays * 24;
  // Spikes are looked for from a day before the pass, so that a run reaching into it starts where it starts.
  const passHour = Math.floor(range.from.getTime() / HOUR_MS) * HOUR_MS;
  const firstHour = passHour - 24 * HOUR_MS;
  const { rows } = await c.query<{ service_id: string; client_id: string; h: number; n: number }>(
    `select service_id, client_id, (extract(epoch from hour) * 1000)::float8 as h, sum(count)::float8 as n
       from audit_rollups_hourly
      where hour >= $1 and hour < $2
      group by 1, 2, 3
      order by 1, 2, 3`,
    [new Date(firstHour - (baselineHours + 1) * HOUR_MS), range.to],
  );
  const groups = new Map<string, { serviceId: string; clientId: string; hours: Map<number, number> }>();
  for (const r of rows) {
    const key = `${r.service_id}\u0001${r.client_id}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { serviceId: r.service_id, clientId: r.client_id, hours: new Map() }));
    g.hours.set(r.h, r.n);
  }
  const out: Candidate[] = [];
  for (const { serviceId, clientId, hours } of groups.values()) {
    const earliest = Math.min(...hours.keys());
    const spikes: number[] = [];
    for (let h = firstHour; h < range.to.getTime(); h += HOUR_MS) {
      const n = hours.get(h) ?? 0;
      if (n <= s.volumeFloor || h - earliest < baselineHours * HOUR_MS) continue;
      const trailing = Array.from({ length: baselineHours }, (_, k) => hours.get(h - (k + 1) * HOUR_MS) ?? 0);
      if (n > s.volumeFactor * median(trailing)) spikes.push(h);
    }
    const runs: number[][] = [];
    for (const h of spikes) {
      const run = runs[runs.length - 1];
      if (run && h - run[run.length - 1]! === HOUR_MS) run.push(h);
      else runs.push([h]);
    }
    for (const run of runs) {
      const lastHour = run[run.length - 1]!;
      if (lastHour < passHour) continue;
      const { rows: span } = await c.query<{ first_t: string; last_t: string }>(
        `select min(e.time)::text as first_t, max(e.time)::text as last_t from audit_events e
          where e.client_id = $1 and e.service_id = $2 and e.time >= $3 and e.time < $4`,
        [clientId, serviceId, new Date(run[0]!), new Date(lastHour + HOUR_MS)],
      );
      const firstT = span[0]?.first_t;
      const lastT = span[0]?.last_t;
      if (!firstT || !lastT) continue;
      const base = {
        rule: 'VOLUME_SPIKE' as RuleCode,
        serviceId,
        clientId,
        subject: null,
        lastSeen: lastT,
        evidence: { kind: 'all' as const },
        summary: (n: number) =>
          `client ${clientId} on service ${serviceId}: ${n} events in ${run.length} hour(s), above ${s.volumeFactor} times its median hour over ${s.volumeBaselineDays} days`,
      };
      // A run already going a day before the pass may go on one raised before.
      const stored =
        run[0] === firstHour
          ? await latestFinding(
              c,
              { rule: 'VOLUME_SPIKE', serviceId, clientId, subject: null },
              new Date(firstHour - HOUR_MS),
            )
          : null;
      if (stored) out.push({ ...base, fingerprint: null, extends: stored.id, firstSeen: stored.firstSeen });
      else
        out.push({
          ...base,
          fingerprint: `VOLUME_SPIKE|${serviceId}|${clientId}|${new Date(run[0]!).toISOString()}`,
          firstSeen: firstT,
        });
    }
  }
  return out;
}

/** What a pass read before it began, for the rules that need more than the store. */
export interface EvaluationInputs {
  /** DPoD's bindings (UNBOUND_CLIENT_ACTIVITY), or null when not configured or not readable for this pass. */
  directory: ClientDirectory | null;
}

/**
 * UNBOUND_CLIENT_ACTIVITY. Events of the pass's range, no older than `unboundHorizonHours` before the directory was
 * read, by a client that a service DPoD lists does not list as bound. The clients that acted are read from the hourly
 * rollups, then each unbound one's span from its events. Activity of a client within the horizon of its last finding
 * extends it; later, it is a new episode, identified by its first event.
 */
async function unboundClientActivity(
  c: pg.ClientBase,
  range: DetectRange,
  s: DetectionSettings,
  inputs: EvaluationInputs,
): Promise<Candidate[]> {
  const directory = inputs.directory;
  if (!directory) return [];
  const horizonMs = s.unboundHorizonHours * HOUR_MS;
  const from = new Date(Math.max(range.from.getTime(), directory.readAt.getTime() - horizonMs));
  if (from.getTime() >= range.to.getTime()) return [];
  const { rows: pairs } = await c.query<{ service_id: string; client_id: string }>(
    `select distinct service_id, client_id from audit_rollups_hourly
      where hour >= date_trunc('hour', $1::timestamptz) and hour < $2 and service_id = any($3::text[])
      order by 1, 2`,
    [from, range.to, [...directory.bound.keys()]],
  );
  const out: Candidate[] = [];
  const readAt = directory.readAt.toISOString();
  for (const { service_id: serviceId, client_id: clientId } of pairs) {
    if (directory.bound.get(serviceId)?.has(clientId) !== false) continue;
    const { rows: span } = await c.query<{
      first_id: string | null;
      first_t: string;
      first_ms: number;
      last_t: string;
    }>(
      `select (array_agg(e.id::text order by e.time, e.id))[1] as first_id, min(e.time)::text as first_t,
              (extract(epoch from min(e.time)) * 1000)::float8 as first_ms, max(e.time)::text as last_t
         from audit_events e
        where e.service_id = $1 and e.client_id = $2 and e.time >= $3 and e.time < $4`,
      [serviceId, clientId, from, range.to],
    );
    const g = span[0];
    if (!g?.first_id) continue;
    const base = {
      rule: 'UNBOUND_CLIENT_ACTIVITY' as RuleCode,
      serviceId,
      clientId,
      subject: null,
      lastSeen: g.last_t,
      evidence: { kind: 'all' as const },
      summary: (n: number) =>
        `client ${clientId} acted on service ${serviceId} (${n} events), but DPoD does not list it as bound (bindings read ${readAt})`,
    };
    const stored = await latestFinding(
      c,
      { rule: 'UNBOUND_CLIENT_ACTIVITY', serviceId, clientId, subject: null },
      new Date(g.first_ms - horizonMs),
    );
    if (stored) out.push({ ...base, fingerprint: null, extends: stored.id, firstSeen: stored.firstSeen });
    else
      out.push({
        ...base,
        fingerprint: `UNBOUND_CLIENT_ACTIVITY|${serviceId}|${clientId}|${g.first_id}`,
        firstSeen: g.first_t,
      });
  }
  return out;
}

/** Each rule's evaluation over a pass's range. */
export const EVALUATORS: Record<
  RuleCode,
  (c: pg.ClientBase, range: DetectRange, s: DetectionSettings, inputs: EvaluationInputs) => Promise<Candidate[]>
> = {
  PIN_FAILURE_BURST: pinFailureBurst,
  DESTRUCTIVE_OPERATION: destructiveOperation,
  KEY_EXPORT_BY_NEW_CLIENT: keyExportByNewClient,
  NEW_CLIENT_ADDRESS: newClientAddress,
  VOLUME_SPIKE: volumeSpike,
  UNBOUND_CLIENT_ACTIVITY: unboundClientActivity,
};
