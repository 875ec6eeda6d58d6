import type pg from 'pg';
import type { Logger } from '../logger';
import { packedMerkleRoot } from './merkle';
import { chunks, HOURS_PER_STATEMENT, prefetchLeaves, type LeafPrefetch } from './period-leaves';
import { sealHash } from './seal-record';
import type { SigningKey } from './signing-key';

/** Options of {@link sealClosedPeriods}. */
export interface SealOptions {
  /** Hours ending at or before this instant are sealed (see `closedBefore`). */
  closedBefore: Date;
  /** Signs each seal; without it seals are chained and unsigned. */
  signingKey?: SigningKey | null;
  logger?: Logger;
}

/** What a sealing pass did. */
export interface SealOutcome {
  /** Periods sealed for the first time. */
  sealed: number;
  /** New versions of periods late records reached. */
  amended: number;
  /** Periods whose events do not add up to their rollups (changed outside ingest): left unsealed, for verify. */
  skipped: { serviceId: string; periodStart: Date; events: number; rollups: number }[];
}

const LOCK = 'dpod-audit integrity seals';

/** One seal's column values, in the order of {@link insertSeals}. */
type SealValues = [
  string,
  Date,
  number,
  number,
  string,
  Buffer,
  string | null,
  string,
  string | null,
  string | null,
  string | null,
];

/** Inserts seals in one statement (a chunk of periods), in order: ids follow the chain. */
async function insertSeals(client: pg.PoolClient, seals: SealValues[]): Promise<void> {
  if (seals.length === 0) return;
  const column = (i: number) => seals.map((s) => s[i]);
  await client.query(
    `insert into integrity_seals (service_id, period_start, version, event_count, root, leaves, prev_hash, seal_hash,
                                  signature, key_fingerprint, supersedes)
     select s.service_id, s.period_start, s.version, s.event_count, s.root, s.leaves, s.prev_hash, s.seal_hash,
            s.signature, s.key_fingerprint, s.supersedes
       from unnest($1::text[], $2::timestamptz[], $3::int[], $4::int[], $5::text[], $6::bytea[], $7::text[],
                   $8::text[], $9::text[], $10::text[], $11::bigint[])
            with ordinality as s(service_id, period_start, version, event_count, root, leaves, prev_hash, seal_hash,
                                 signature, key_fingerprint, supersedes, n)
      order by s.n`,
    Array.from({ length: 11 }, (_, i) => column(i)),
  );
}

/**
 * Seals every closed hour of every service that has no seal yet, and seals a new version of a sealed hour whose
 * rollups (kept by ingest in the same transaction as the events) now count more or fewer events: late records.
 * One pass at a time (a session advisory lock), each in one repeatable-read transaction, so two followers or a
 * crash mid-pass leave each period sealed once. A period whose events do not add up to its rollups was changed
 * outside ingest: it is not sealed (that would bless the change) and is reported, for `verify` to name.
 */
export async function sealClosedPeriods(pool: pg.Pool, options: SealOptions): Promise<SealOutcome> {
  const client = await pool.connect();
  // Recomputing leaves is PostgreSQL's CPU work: a second connection, when the pool has one free, uses another core.
  const helper = pool.idleCount > 0 || pool.totalCount < (pool.options.max ?? 10) ? await pool.connect() : null;
  let prefetch: LeafPrefetch | null = null;
  const outcome: SealOutcome = { sealed: 0, amended: 0, skipped: [] };
  try {
    await client.query('select pg_advisory_lock(hashtext($1))', [LOCK]);
    try {
      await client.query('begin isolation level repeatable read');
      const { rows: due } = await client.query<{
        service_id: string;
        hour: Date;
        n: number;
        latest_id: string | null;
        version: number | null;
      }>(
        `with counts as (
           select service_id, hour, sum(count)::int as n from audit_rollups_hourly
            where hour + interval '1 hour' <= $1 group by service_id, hour having sum(count) > 0),
         latest as (
           select distinct on (service_id, period_start) service_id, period_start, event_count, id, version
             from integrity_seals order by service_id, period_start, version desc)
         select c.service_id, c.hour, c.n, l.id::text as latest_id, l.version
           from counts c left join latest l on l.service_id = c.service_id and l.period_start = c.hour
          where l.id is null or l.event_count <> c.n
          order by c.service_id, c.hour`,
        [options.closedBefore],
      );
      const heads = new Map<string, string | null>();
      const pending: SealValues[] = [];
      const byService = new Map<string, typeof due>();
      for (const period of due) byService.set(period.service_id, [...(byService.get(period.service_id) ?? []), period]);
      const tasks = [...byService].flatMap(([serviceId, periods]) =>
        chunks(periods, HOURS_PER_STATEMENT).map((chunk) => ({ serviceId, chunk, hours: chunk.map((p) => p.hour) })),
      );
      // A second connection on this transaction's snapshot computes leaves ahead on another core.
      const workers: pg.PoolClient[] = [client];
      if (helper && tasks.length > 1) {
        const { rows } = await client.query<{ id: string }>('select pg_export_snapshot() as id');
        await helper.query('begin isolation level repeatable read read only');
        await helper.query(`set transaction snapshot '${rows[0]?.id ?? ''}'`);
        workers.push(helper);
      }
      // Leaves the importer stored are read as they are (verify recomputes them all from the columns).
      prefetch = prefetchLeaves(workers, tasks, 'stored');
      for (const [t, { serviceId, chunk }] of tasks.entries()) {
        {
          const leavesOf = await prefetch.take(t);
          for (const period of chunk) {
            const leaves = leavesOf.get(period.hour.getTime()) ?? Buffer.alloc(0);
            const count = leaves.length / 32;
            if (count !== period.n) {
              outcome.skipped.push({ serviceId, periodStart: period.hour, events: count, rollups: period.n });
              continue;
            }
            if (!heads.has(serviceId)) {
              const { rows } = await client.query<{ seal_hash: string }>(
                'select seal_hash from integrity_seals where service_id = $1 order by id desc limit 1',
                [serviceId],
              );
              heads.set(serviceId, rows[0]?.seal_hash ?? null);
            }
            const body = {
              serviceId,
              periodStart: period.hour,
              version: (period.version ?? 0) + 1,
              eventCount: count,
              root: packedMerkleRoot(leaves).toString('hex'),
              prevHash: heads.get(serviceId) ?? null,
            };
            const hash = sealHash(body);
            pending.push([
              body.serviceId,
              body.periodStart,
              body.version,
              body.eventCount,
              body.root,
              leaves,
              body.prevHash,
              hash,
              options.signingKey?.sign(hash) ?? null,
              options.signingKey?.publicKey.fingerprint ?? null,
              period.latest_id,
            ]);
            heads.set(serviceId, hash);
            if (period.latest_id === null) outcome.sealed++;
            else outcome.amended++;
          }
          await insertSeals(client, pending.splice(0));
        }
      }
      await client.query('commit');
    } catch (err) {
      await prefetch?.settle();
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', [LOCK]).catch(() => undefined);
    }
  } finally {
    await prefetch?.settle();
    if (helper) {
      await helper.query('rollback').catch(() => undefined);
      helper.release();
    }
    client.release();
  }
  for (const s of outcome.skipped)
    options.logger?.warn(
      { serviceId: s.serviceId, periodStart: s.periodStart, events: s.events, rollups: s.rollups },
      'not sealed: the period holds a different number of events than ingest recorded (run dpod-audit verify)',
    );
  if (outcome.sealed + outcome.amended > 0)
    options.logger?.info({ sealed: outcome.sealed, amended: outcome.amended }, 'sealed closed periods');
  return outcome;
}
