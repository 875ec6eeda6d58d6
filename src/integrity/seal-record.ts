import { createHash } from 'node:crypto';

/** The fields of a seal that its hash covers (and its signature, through the hash). */
export interface SealBody {
  serviceId: string;
  periodStart: Date;
  version: number;
  eventCount: number;
  root: string;
  prevHash: string | null;
}

/** Format version of the seal hash's canonical text (see docs/integrity.md). */
export const SEAL_FORMAT = 1;

/** SHA-256 (hex) of a seal's canonical text: a JSON array of its body in a fixed order. */
export function sealHash(body: SealBody): string {
  const text = JSON.stringify([
    SEAL_FORMAT,
    body.serviceId,
    body.periodStart.toISOString(),
    body.version,
    body.eventCount,
    body.root,
    body.prevHash,
  ]);
  return createHash('sha256').update(text).digest('hex');
}

/** An hour is closed (sealable) once it ended at least `marginMs` ago: the follower's overlap plus the grace. */
export function closedBefore(now: Date, marginMs: number): Date {
  return new Date(now.getTime() - marginMs);
}

/** A row of `integrity_seals` as verify and digest read it ({@link SEAL_COLUMNS}; the leaves apart). */
export interface SealRow {
  id: string;
  service_id: string;
  period_start: Date;
  version: number;
  event_count: number;
  root: string;
  prev_hash: string | null;
  seal_hash: string;
  signature: string | null;
  key_fingerprint: string | null;
  sealed_at: Date;
  supersedes: string | null;
}

/** The select list of a {@link SealRow} from `integrity_seals s`. */
export const SEAL_COLUMNS = `s.id::text as id, s.service_id, s.period_start, s.version, s.event_count, s.root,
  s.prev_hash, s.seal_hash, s.signature, s.key_fingerprint, s.sealed_at, s.supersedes::text as supersedes`;
