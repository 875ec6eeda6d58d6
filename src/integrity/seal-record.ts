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
