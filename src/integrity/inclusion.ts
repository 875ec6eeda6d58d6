import type { SealedEvent } from './event-leaf';
import { leafData } from './event-leaf';
import { inclusionProof, leafHash, unpackLeaves, type ProofStep, type SubtreeMemo } from './merkle';
import { SEALED_COLUMNS } from './period-leaves';
import type { SqlClient } from './sql-client';

/** Where an event sits in its period's sealed tree, and the path from its leaf to the root. */
export interface InclusionProof {
  serviceId: string;
  periodStart: Date;
  /** The seal (latest version of the period) the proof leads to. */
  sealId: string;
  version: number;
  root: string;
  sealHash: string;
  signature: string | null;
  leafHash: string;
  leafIndex: number;
  leafCount: number;
  steps: ProofStep[];
}

/** An event by its keyset position: exact microseconds and database id. */
export interface EventAt {
  timeUs: string;
  id: string;
}

interface Row extends SealedEvent {
  id: string;
}

interface SealRow {
  id: string;
  service_id: string;
  period_start: Date;
  version: number;
  root: string;
  seal_hash: string;
  signature: string | null;
  leaves: Buffer;
}

const iso = (us: string): string => {
  const ms = BigInt(us) / 1000n;
  const rest = (BigInt(us) % 1000n).toString().padStart(3, '0');
  return `${new Date(Number(ms)).toISOString().slice(0, -1)}${rest}Z`;
};

/**
 * The inclusion proofs of events, in two statements whatever their number: the events' sealed fields, then the
 * latest seal of each of their periods. Null for an event whose period is not sealed, or whose sealed tree does not
 * hold the event as it is stored now (changed or added after sealing: `verify` names the period).
 */
export async function fetchInclusionProofs(
  client: SqlClient,
  events: readonly EventAt[],
): Promise<(InclusionProof | null)[]> {
  if (events.length === 0) return [];
  const { rows } = await client.query<Row>(
    `select e.id::text as id, ${SEALED_COLUMNS}
       from unnest($1::timestamptz[], $2::bigint[]) as k(time, id)
       join audit_events e on e.time = k.time and e.id = k.id`,
    [events.map((e) => iso(e.timeUs)), events.map((e) => e.id)],
  );
  const hourOf = (us: string) => new Date(Math.floor(Number(BigInt(us) / 1000n) / 3_600_000) * 3_600_000);
  const services = rows.map((r) => r.service_id);
  const hours = rows.map((r) => hourOf(r.time_us));
  const { rows: seals } = await client.query<SealRow>(
    `select distinct on (s.service_id, s.period_start) s.id::text as id, s.service_id, s.period_start, s.version,
            s.root, s.seal_hash, s.signature, s.leaves
       from unnest($1::text[], $2::timestamptz[]) as k(service_id, period_start)
       join integrity_seals s on s.service_id = k.service_id and s.period_start = k.period_start
      order by s.service_id, s.period_start, s.version desc`,
    [services, hours],
  );
  const sealOf = new Map(seals.map((s) => [`${s.service_id}|${s.period_start.toISOString()}`, s]));
  const leavesOf = new Map<string, { leaves: Buffer[]; memo: SubtreeMemo }>();
  const proofOf = new Map<string, InclusionProof | null>();
  for (const row of rows) {
    const key = `${row.service_id}|${hourOf(row.time_us).toISOString()}`;
    const seal = sealOf.get(key);
    if (!seal) {
      proofOf.set(`${row.time_us}:${row.id}`, null);
      continue;
    }
    let tree = leavesOf.get(key);
    if (!tree) {
      tree = { leaves: unpackLeaves(seal.leaves), memo: new Map() };
      leavesOf.set(key, tree);
    }
    const { leaves, memo } = tree;
    const leaf = leafHash(leafData(row));
    const index = leaves.findIndex((l) => l.equals(leaf));
    proofOf.set(
      `${row.time_us}:${row.id}`,
      index < 0
        ? null
        : {
            serviceId: seal.service_id,
            periodStart: seal.period_start,
            sealId: seal.id,
            version: seal.version,
            root: seal.root,
            sealHash: seal.seal_hash,
            signature: seal.signature,
            leafHash: leaf.toString('hex'),
            leafIndex: index,
            leafCount: leaves.length,
            steps: inclusionProof(leaves, index, memo),
          },
    );
  }
  return events.map((e) => proofOf.get(`${e.timeUs}:${e.id}`) ?? null);
}
