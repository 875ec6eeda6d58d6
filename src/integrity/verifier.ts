import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import type { SqlClient } from './sql-client';
import { packedMerkleRoot, unpackLeaves } from './merkle';
import { chunks, HOURS_PER_STATEMENT, leavesOfHours } from './period-leaves';
import { SEAL_COLUMNS, sealHash, type SealRow } from './seal-record';
import { verifySignature } from './signing-key';

/** The state of one sealed period after verification. */
export type PeriodStatus = 'SEALED' | 'MISMATCH' | 'EXPIRED' | 'OPEN';

/** One (service, hour) as verify found it. */
export interface PeriodReport {
  serviceId: string;
  periodStart: Date;
  /** The latest seal's version (0: never sealed). */
  version: number;
  /** Events the seal counted (or, for an unsealed period, the events stored). */
  eventCount: number;
  root: string | null;
  sealedAt: Date | null;
  status: PeriodStatus;
  /** For a mismatch: sealed events no longer stored, stored events the seal does not hold, and the likely changes. */
  missing: number;
  added: number;
  changed: number;
  /** Why the period does not verify, in words. */
  problem: string | null;
}

/** What `verify` found. */
export interface VerifyReport {
  verified: boolean;
  periods: PeriodReport[];
  /** Broken links, altered seals and bad signatures, in words. */
  chainProblems: string[];
}

/** Options of {@link verifyStore}. */
export interface VerifyOptions {
  from?: Date;
  to?: Date;
  serviceIds?: readonly string[];
  /** Hours ending after this instant are not closed yet: unsealed ones are OPEN, not a mismatch. */
  closedBefore: Date;
  /** The sealing public key: every seal must carry a valid signature by it. Without it signatures are not checked. */
  publicKey?: KeyObject | null;
}

/** Compares two leaf lists as multisets: how many of `sealed` are gone and how many of `now` are new. */
function difference(sealed: Buffer[], now: Buffer[]): { missing: number; added: number } {
  const counts = new Map<string, number>();
  for (const l of sealed) counts.set(l.toString('hex'), (counts.get(l.toString('hex')) ?? 0) + 1);
  let added = 0;
  for (const l of now) {
    const k = l.toString('hex');
    const n = counts.get(k) ?? 0;
    if (n > 0) counts.set(k, n - 1);
    else added++;
  }
  let missing = 0;
  for (const n of counts.values()) missing += n;
  return { missing, added };
}

function inScope(options: VerifyOptions, serviceId: string, at: Date): boolean {
  if (options.serviceIds && !options.serviceIds.includes(serviceId)) return false;
  if (options.from && at.getTime() + 3_600_000 <= options.from.getTime()) return false;
  if (options.to && at.getTime() >= options.to.getTime()) return false;
  return true;
}

/** Checks each service's chain of seals: every hash recomputes, every link points at the seal before it, signatures. */
function checkChains(seals: SealRow[], publicKey: KeyObject | null | undefined): string[] {
  const problems: string[] = [];
  const last = new Map<string, string>();
  for (const s of seals) {
    const where = `seal ${s.id} (service ${s.service_id}, ${s.period_start.toISOString()} v${s.version})`;
    const body = {
      serviceId: s.service_id,
      periodStart: s.period_start,
      version: s.version,
      eventCount: s.event_count,
      root: s.root,
      prevHash: s.prev_hash,
    };
    if (sealHash(body) !== s.seal_hash) problems.push(`${where}: its fields no longer match its hash (altered)`);
    const before = last.get(s.service_id) ?? null;
    if (s.prev_hash !== before)
      problems.push(
        `${where}: the chain is broken (it points at ${s.prev_hash ?? 'nothing'}, the seal before is ${before ?? 'none'})`,
      );
    if (publicKey) {
      if (!s.signature) problems.push(`${where}: not signed`);
      else if (!verifySignature(publicKey, s.seal_hash, s.signature))
        problems.push(`${where}: the signature is not the sealing key's`);
    }
    last.set(s.service_id, s.seal_hash);
  }
  return problems;
}

/** One sealed period against the leaves of its stored events (packed, 32 bytes each). */
async function checkPeriod(
  client: SqlClient,
  s: SealRow,
  packed: Buffer,
  droppedBefore: Date | null,
): Promise<PeriodReport> {
  const base = {
    serviceId: s.service_id,
    periodStart: s.period_start,
    version: s.version,
    eventCount: s.event_count,
    root: s.root,
    sealedAt: s.sealed_at,
  };
  const count = packed.length / 32;
  if (droppedBefore && s.period_start < droppedBefore && count === 0)
    return { ...base, status: 'EXPIRED', missing: 0, added: 0, changed: 0, problem: null };
  if (count === s.event_count && packedMerkleRoot(packed).toString('hex') === s.root)
    return { ...base, status: 'SEALED', missing: 0, added: 0, changed: 0, problem: null };
  const now = unpackLeaves(packed);
  const { rows } = await client.query<{ leaves: Buffer }>('select leaves from integrity_seals where id = $1', [s.id]);
  const diff = difference(unpackLeaves(rows[0]?.leaves ?? Buffer.alloc(0)), now);
  const changed = Math.min(diff.missing, diff.added);
  const missing = diff.missing - changed;
  const added = diff.added - changed;
  const words = [
    changed > 0 ? `${changed} event(s) changed` : null,
    missing > 0 ? `${missing} event(s) missing` : null,
    added > 0 ? `${added} event(s) added` : null,
  ].filter((w) => w !== null);
  return {
    ...base,
    status: 'MISMATCH',
    missing,
    added,
    changed,
    problem: words.length > 0 ? words.join(', ') : 'the events were reordered',
  };
}

/**
 * Recomputes every sealed period in scope from the stored events and compares it with its latest seal, checks the
 * chains of seals (and signatures, given the public key), and names closed periods holding events no seal covers.
 */
export async function verifyStore(pool: pg.Pool, options: VerifyOptions): Promise<VerifyReport> {
  const client = await pool.connect();
  // Recomputing leaves is PostgreSQL's CPU work: a second connection on the same snapshot uses another core
  // (measured in bench/ingest.ts). Without a second connection free, one does all of it.
  const helper = pool.idleCount > 0 || pool.totalCount < (pool.options.max ?? 10) ? await pool.connect() : null;
  try {
    return await verifyWith(client, options, helper);
  } finally {
    if (helper) {
      await helper.query('rollback').catch(() => undefined);
      helper.release();
    }
    client.release();
  }
}

/**
 * {@link verifyStore} on one connection (its own transaction): the GraphQL layer passes a Kysely connection. A
 * `helper` connection, when given, imports the transaction's snapshot and recomputes half of the periods.
 */
export async function verifyWith(
  client: SqlClient,
  options: VerifyOptions,
  helper: SqlClient | null = null,
): Promise<VerifyReport> {
  try {
    await client.query('begin isolation level repeatable read read only');
    const workers = [client];
    if (helper) {
      const { rows } = await client.query<{ id: string }>('select pg_export_snapshot() as id');
      await helper.query('begin isolation level repeatable read read only');
      await helper.query(`set transaction snapshot '${rows[0]?.id ?? ''}'`);
      workers.push(helper);
    }
    const { rows: seals } = await client.query<SealRow>(`select ${SEAL_COLUMNS} from integrity_seals s order by s.id`);
    const chainProblems = checkChains(
      seals.filter((s) => !options.serviceIds || options.serviceIds.includes(s.service_id)),
      options.publicKey,
    );
    // Retention drops whole months and records where it cut: sealed periods before that whose events are gone expired.
    const { rows: cuts } = await client.query<{ dropped_before: Date | null }>(
      'select max(dropped_before) as dropped_before from integrity_retention',
    );
    const droppedBefore = cuts[0]?.dropped_before ?? null;
    const latest = new Map<string, SealRow>();
    for (const s of seals) latest.set(`${s.service_id}|${s.period_start.toISOString()}`, s);
    const periods: PeriodReport[] = [];
    const byService = new Map<string, SealRow[]>();
    for (const s of latest.values())
      if (inScope(options, s.service_id, s.period_start))
        byService.set(s.service_id, [...(byService.get(s.service_id) ?? []), s]);
    const tasks = [...byService].flatMap(([serviceId, sealsOfService]) =>
      chunks(sealsOfService, HOURS_PER_STATEMENT).map((chunk) => ({ serviceId, chunk })),
    );
    let next = 0;
    await Promise.all(
      workers.map(async (worker) => {
        for (let task = tasks[next++]; task; task = tasks[next++]) {
          const { serviceId, chunk } = task;
          const leavesOf = await leavesOfHours(
            worker,
            serviceId,
            chunk.map((s) => s.period_start),
          );
          for (const s of chunk)
            periods.push(
              await checkPeriod(worker, s, leavesOf.get(s.period_start.getTime()) ?? Buffer.alloc(0), droppedBefore),
            );
        }
      }),
    );
    // Closed hours holding events that no seal covers (a forged event in an hour that had none, or not sealed yet).
    const { rows: unsealed } = await client.query<{ service_id: string; hour: Date; n: number }>(
      `select p.service_id, to_timestamp(p.h * 3600) as hour, p.n
         from (select e.service_id, floor(extract(epoch from e.time) / 3600)::bigint as h, count(*)::int as n
                 from audit_events e
                where ($1::timestamptz is null or e.time >= $1) and ($2::timestamptz is null or e.time < $2)
                  and ($3::text[] is null or e.service_id = any($3))
                group by 1, 2) p
        where not exists (select 1 from integrity_seals s
                           where s.service_id = p.service_id and s.period_start = to_timestamp(p.h * 3600))
        order by 1, 2`,
      [options.from ?? null, options.to ?? null, options.serviceIds ?? null],
    );
    for (const u of unsealed) {
      if (!inScope(options, u.service_id, u.hour)) continue;
      const closed = u.hour.getTime() + 3_600_000 <= options.closedBefore.getTime();
      periods.push({
        serviceId: u.service_id,
        periodStart: u.hour,
        version: 0,
        eventCount: u.n,
        root: null,
        sealedAt: null,
        status: closed ? 'MISMATCH' : 'OPEN',
        missing: 0,
        added: closed ? u.n : 0,
        changed: 0,
        problem: closed ? `${u.n} event(s) in a closed period no seal covers (added, or not sealed yet)` : null,
      });
    }
    await client.query('commit');
    periods.sort((a, b) => a.periodStart.getTime() - b.periodStart.getTime() || (a.serviceId < b.serviceId ? -1 : 1));
    const verified = chainProblems.length === 0 && periods.every((p) => p.status !== 'MISMATCH');
    return { verified, periods, chainProblems };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
}
