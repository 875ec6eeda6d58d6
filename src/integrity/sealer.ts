import type pg from 'pg';
import type { Logger } from '../logger';
import { leafData, type SealedEvent } from './event-leaf';
import { leafHash, merkleRoot, packLeaves } from './merkle';
import { sealHash } from './seal-record';
import type { SigningKey } from './signing-key';
import type { SqlClient } from './sql-client';

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

function byMicroseconds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The leaf hashes of a period's events in leaf order: by time, then by leaf hash for events of the same
 * microsecond. The order follows from the events alone (not from the store's surrogate ids), so a file of exported
 * events in any order yields the same root offline.
 */
export function orderedLeaves(events: readonly SealedEvent[]): Buffer[] {
  return events
    .map((e) => ({ at: e.time_us, leaf: leafHash(leafData(e)) }))
    .sort((a, b) => byMicroseconds(a.at, b.at) || Buffer.compare(a.leaf, b.leaf))
    .map((x) => x.leaf);
}

/** Events of one period in keyset order, as sealed (one ordered index scan). */
export const PERIOD_EVENTS = `
  select ((extract(epoch from e.time) * 1000000)::bigint)::text as time_us, e.event_key::text as event_key,
         e.occurrence, e.source, e.partition_id, e.service_id, e.client_id, e.tenant_id, e.action, e.status,
         e.trace_id, e.client_ip::text as client_ip, e.hsm_id, e.object_ids, e.partition_serial, e.role,
         e.meta::text as meta, e.meta_raw, e.meta_malformed, e.extra::text as extra
    from audit_events e
   where e.service_id = $1 and e.time >= $2 and e.time < $2::timestamptz + interval '1 hour'
   order by e.time, e.id`;

/** The leaf hashes of one period's stored events, in leaf order (see {@link orderedLeaves}). */
export async function periodLeaves(client: SqlClient, serviceId: string, periodStart: Date): Promise<Buffer[]> {
  const { rows } = await client.query<SealedEvent>(PERIOD_EVENTS, [serviceId, periodStart]);
  return orderedLeaves(rows);
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
      for (const period of due) {
        const leaves = await periodLeaves(client, period.service_id, period.hour);
        if (leaves.length !== period.n) {
          outcome.skipped.push({
            serviceId: period.service_id,
            periodStart: period.hour,
            events: leaves.length,
            rollups: period.n,
          });
          continue;
        }
        if (!heads.has(period.service_id)) {
          const { rows } = await client.query<{ seal_hash: string }>(
            'select seal_hash from integrity_seals where service_id = $1 order by id desc limit 1',
            [period.service_id],
          );
          heads.set(period.service_id, rows[0]?.seal_hash ?? null);
        }
        const body = {
          serviceId: period.service_id,
          periodStart: period.hour,
          version: (period.version ?? 0) + 1,
          eventCount: leaves.length,
          root: merkleRoot(leaves).toString('hex'),
          prevHash: heads.get(period.service_id) ?? null,
        };
        const hash = sealHash(body);
        await client.query(
          `insert into integrity_seals (service_id, period_start, version, event_count, root, leaves, prev_hash,
                                        seal_hash, signature, key_fingerprint, supersedes)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            body.serviceId,
            body.periodStart,
            body.version,
            body.eventCount,
            body.root,
            packLeaves(leaves),
            body.prevHash,
            hash,
            options.signingKey?.sign(hash) ?? null,
            options.signingKey?.publicKey.fingerprint ?? null,
            period.latest_id,
          ],
        );
        heads.set(period.service_id, hash);
        if (period.latest_id === null) outcome.sealed++;
        else outcome.amended++;
      }
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', [LOCK]).catch(() => undefined);
    }
  } finally {
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
