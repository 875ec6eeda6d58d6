import type { SealedEvent } from './event-leaf';
import { leafData } from './event-leaf';
import { leafHash } from './merkle';
import type { SqlClient } from './sql-client';

/** The sealed columns of an event, as the offline events file names them (`time_us` exact microseconds). */
export const SEALED_COLUMNS = `
  ((extract(epoch from e.time) * 1000000)::bigint)::text as time_us, e.event_key::text as event_key,
  e.occurrence, e.source, e.partition_id, e.service_id, e.client_id, e.tenant_id, e.action, e.status,
  e.trace_id, e.client_ip::text as client_ip, e.hsm_id, e.object_ids, e.partition_serial, e.role,
  e.meta::text as meta, e.meta_raw, e.meta_malformed, e.extra::text as extra`;

/**
 * An event's leaf hash computed by PostgreSQL: the same bytes as `leafHash(leafData(event))` in event-leaf.ts
 * (`json_build_array` separates elements with ", " and its `to_json` escapes strings and prints arrays, numbers and
 * booleans as `JSON.stringify` does; test/integrity/leaf-sql.test.ts holds the two to it). Hand-written because it
 * is the hot path of sealing and verifying: hashing in the database sends 32 bytes per event instead of its every
 * column (measured in bench/ingest.ts; docs/performance.md#integrity).
 */
export const LEAF_HASH_SQL = `sha256('\\x00'::bytea || convert_to(json_build_array(1,
  ((extract(epoch from e.time) * 1000000)::bigint)::text, e.event_key::text, e.occurrence, e.source, e.partition_id,
  e.service_id, e.client_id, e.tenant_id, e.action, e.status, e.trace_id, e.client_ip::text, e.hsm_id, e.object_ids,
  e.partition_serial, e.role, e.meta::text, e.meta_raw, e.meta_malformed, e.extra::text)::text, 'UTF8'))`;

/** Events of one period in keyset order, every sealed column (the events file, inclusion proofs). */
export const PERIOD_EVENTS = `
  select ${SEALED_COLUMNS}
    from audit_events e
   where e.service_id = $1 and e.time >= $2 and e.time < $2::timestamptz + interval '1 hour'
   order by e.time, e.id`;

const HOUR_MS = 3_600_000;

/** Hours fetched per statement by the callers of {@link leavesOfHours}: bounds the leaves held at once. */
export const HOURS_PER_STATEMENT = 24;

/** `items` in runs of `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Where leaves come from: `recomputed` from the stored columns (verify: what the store holds now), or `stored` as
 * the importer computed them (`audit_events.leaf`), recomputed only for events without one (the sealer).
 */
export type LeafSourceMode = 'recomputed' | 'stored';

/** The SQL of an event's leaf for a {@link LeafSourceMode}. */
function leafExpression(mode: LeafSourceMode): string {
  return mode === 'stored' ? `coalesce(e.leaf, ${LEAF_HASH_SQL})` : LEAF_HASH_SQL;
}

/**
 * The leaf hashes of some hours of one service, in leaf order (time, then leaf hash), packed (32 bytes each, as
 * `integrity_seals.leaves` holds them), by hour start (ms); an hour without events has an empty buffer. One
 * statement over the time index. Callers pass at most {@link HOURS_PER_STATEMENT} hours at a time.
 */
export async function leavesOfHours(
  client: SqlClient,
  serviceId: string,
  hours: readonly Date[],
  mode: LeafSourceMode = 'recomputed',
): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  const sorted = [...new Set(hours.map((h) => h.getTime()))].sort((a, b) => a - b);
  if (sorted.length === 0) return out;
  for (const h of sorted) out.set(h, Buffer.alloc(0));
  // Packed per hour by PostgreSQL (one row and one bytea per hour, not one per event), in leaf order. `offset 0`
  // makes PostgreSQL hash before it sorts: without it the sort carries every column of every event (2x slower).
  const { rows } = await client.query<{ h: string; leaves: Buffer }>(
    `select h::text as h, string_agg(leaf, ''::bytea order by t, leaf) as leaves
       from (select e.time as t, floor(extract(epoch from e.time) / 3600)::bigint as h, ${leafExpression(mode)} as leaf
               from audit_events e
              where e.service_id = $1 and e.time >= $2 and e.time < $3
                and floor(extract(epoch from e.time) / 3600)::bigint = any($4::bigint[])
             offset 0) y
      group by h`,
    [
      serviceId,
      new Date(sorted[0]!),
      new Date(sorted[sorted.length - 1]! + HOUR_MS),
      sorted.map((ms) => String(ms / HOUR_MS)),
    ],
  );
  for (const r of rows) out.set(Number(r.h) * HOUR_MS, r.leaves);
  return out;
}

/** Leaves of chunks of hours computed ahead by several connections on one snapshot (see {@link prefetchLeaves}). */
export interface LeafPrefetch {
  /** The leaves of task `i`; take them in task order (a task is computed at most a few tasks ahead of the taker). */
  take(i: number): Promise<Map<number, Buffer>>;
  /** Stops taking tasks and waits until no connection is still running one. */
  settle(): Promise<void>;
}

interface Deferred {
  promise: Promise<Map<number, Buffer>>;
  resolve(v: Map<number, Buffer>): void;
  reject(e: unknown): void;
}

function deferredLeaves(): Deferred {
  let resolve!: (v: Map<number, Buffer>) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<Map<number, Buffer>>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // taken in order; a failure is reported there
  return { promise, resolve, reject };
}

/**
 * Starts computing the leaves of `tasks` on `workers` (connections in transactions sharing one snapshot), each
 * taking the next task when it is done: PostgreSQL reads or recomputes leaves on as many cores as there are
 * workers. The workers stay at most two tasks each ahead of {@link LeafPrefetch.take}, so the leaves held at once
 * stay bounded whatever the number of periods.
 */
export function prefetchLeaves(
  workers: readonly SqlClient[],
  tasks: readonly { serviceId: string; hours: Date[] }[],
  mode: LeafSourceMode = 'recomputed',
): LeafPrefetch {
  const ahead = workers.length * 2;
  const deferred: (Deferred | null)[] = tasks.map(() => deferredLeaves());
  let next = 0;
  let taken = 0;
  let stopped = false;
  let waiting: (() => void)[] = [];
  /** Stops the workers; tasks none has started are rejected, so no taker waits for them. */
  const stop = (why: string): void => {
    stopped = true;
    for (let m = next; m < tasks.length; m++)
      deferred[m]?.reject(new Error(`leaves of task ${m} not computed: ${why}`));
    next = tasks.length;
    wakeAll();
  };
  const wakeAll = (): void => {
    const w = waiting;
    waiting = [];
    for (const resolve of w) resolve();
  };
  const loops = workers.map(async (worker) => {
    for (;;) {
      while (!stopped && next < tasks.length && next >= taken + ahead)
        await new Promise<void>((resolve) => waiting.push(resolve));
      if (stopped || next >= tasks.length) return;
      const i = next++;
      const task = tasks[i]!;
      // Never null here: a slot is dropped only once its task is settled (see take).
      const d = deferred[i]!;
      try {
        d.resolve(await leavesOfHours(worker, task.serviceId, task.hours, mode));
      } catch (err) {
        d.reject(err);
        stop(`an earlier task failed (${err instanceof Error ? err.message : String(err)})`);
      }
    }
  });
  return {
    take(i) {
      const d = deferred[i];
      if (!d) return Promise.reject(new Error(`the leaves of task ${i} were taken already`));
      taken = Math.max(taken, i + 1);
      wakeAll();
      // Once settled and taken, the leaves are the taker's alone: the slot lets go of them.
      return d.promise.finally(() => (deferred[i] = null));
    },
    async settle() {
      stop('the prefetch was settled');
      await Promise.allSettled(loops);
    },
  };
}

function byMicroseconds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The leaf hashes of a period's events in leaf order, computed here (the offline check): by time, then by leaf
 * hash for events of the same microsecond. The order follows from the events alone (not from the store's
 * surrogate ids), so a file of exported events in any order yields the same root.
 */
export function orderedLeaves(events: readonly SealedEvent[]): Buffer[] {
  return events
    .map((e) => ({ at: e.time_us, leaf: leafHash(leafData(e)) }))
    .sort((a, b) => byMicroseconds(a.at, b.at) || Buffer.compare(a.leaf, b.leaf))
    .map((x) => x.leaf);
}
