import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import type { SealedEvent } from './event-leaf';
import { merkleRoot } from './merkle';
import { PERIOD_EVENTS, orderedLeaves } from './period-leaves';
import { SEAL_COLUMNS, sealHash, type SealRow } from './seal-record';
import { parsePublicKey, verifySignature, type PublicKeyInfo } from './signing-key';

/** Name and version of the digest file format (docs/integrity.md#the-digest-file). */
export const DIGEST_FORMAT = 'dpod-audit-digest';
export const DIGEST_VERSION = 1;

/** One seal as a digest file carries it: everything needed to recompute its hash and check its signature. */
export interface DigestSeal {
  id: string;
  periodStart: string;
  version: number;
  eventCount: number;
  root: string;
  prevHash: string | null;
  sealHash: string;
  signature: string | null;
  keyFingerprint: string | null;
  sealedAt: string;
  supersedes: string | null;
}

/** A contiguous stretch of one service's chain: from its first seal of a period in range to the chain's head. */
export interface DigestChain {
  serviceId: string;
  seals: DigestSeal[];
}

/** A self-contained digest file: the seals of a time range and the key that signed them. */
export interface DigestFile {
  format: typeof DIGEST_FORMAT;
  version: typeof DIGEST_VERSION;
  generatedAt: string;
  /** Hours starting in [from, to) are covered; null: unbounded. */
  from: string | null;
  to: string | null;
  /** The services asked for, or null: every service. */
  services: string[] | null;
  /** Hours ending at or before this instant were closed when the digest was written. */
  closedBefore: string;
  /** The sealing key the service ran with, or null (seals unsigned). */
  publicKey: PublicKeyInfo | null;
  chains: DigestChain[];
}

/** Options of {@link buildDigest}. */
export interface DigestOptions {
  from?: Date | undefined;
  to?: Date | undefined;
  serviceIds?: readonly string[] | undefined;
  closedBefore: Date;
  publicKey: PublicKeyInfo | null;
  /** Called with each covered period's events (in keyset order), one period at a time: the events file. */
  onEvents?: (events: SealedEvent[]) => Promise<void> | void;
}

/** A row of `integrity_seals` as a digest file (and an export manifest) carries it. */
export function digestSeal(s: SealRow): DigestSeal {
  return {
    id: s.id,
    periodStart: s.period_start.toISOString(),
    version: s.version,
    eventCount: s.event_count,
    root: s.root,
    prevHash: s.prev_hash,
    sealHash: s.seal_hash,
    signature: s.signature,
    keyFingerprint: s.key_fingerprint,
    sealedAt: s.sealed_at.toISOString(),
    supersedes: s.supersedes,
  };
}

/**
 * What is wrong with one seal of a file, checked without the database: its fields against its hash, and, with a key,
 * its signature. Empty when it holds.
 */
export function sealFaults(serviceId: string, s: DigestSeal, key: KeyObject | null): string[] {
  const faults: string[] = [];
  const body = {
    serviceId,
    periodStart: new Date(s.periodStart),
    version: s.version,
    eventCount: s.eventCount,
    root: s.root,
    prevHash: s.prevHash,
  };
  if (sealHash(body) !== s.sealHash) faults.push('its fields do not match its hash (altered)');
  if (key) {
    if (!s.signature) faults.push('not signed');
    else if (!verifySignature(key, s.sealHash, s.signature)) faults.push("the signature is not the sealing key's");
  }
  return faults;
}

const inRange = (at: Date, from?: Date, to?: Date): boolean =>
  (!from || at.getTime() >= from.getTime()) && (!to || at.getTime() < to.getTime());

/** The latest seal of each (service, period) of a chain whose period lies in range. */
function coveredPeriods(chain: DigestChain, from: Date | null, to: Date | null): DigestSeal[] {
  const latest = new Map<string, DigestSeal>();
  for (const s of chain.seals)
    if (inRange(new Date(s.periodStart), from ?? undefined, to ?? undefined)) latest.set(s.periodStart, s);
  return [...latest.values()].sort((a, b) => Date.parse(a.periodStart) - Date.parse(b.periodStart));
}

/** Reads the seals of a range into a digest file, in one repeatable-read snapshot (and, optionally, its events). */
export async function buildDigest(pool: pg.Pool, options: DigestOptions): Promise<DigestFile> {
  const client = await pool.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const { rows } = await client.query<SealRow>(
      `select ${SEAL_COLUMNS} from integrity_seals s
        where ($1::text[] is null or s.service_id = any($1))
        order by s.service_id, s.id`,
      [options.serviceIds ?? null],
    );
    const byService = new Map<string, SealRow[]>();
    for (const r of rows) byService.set(r.service_id, [...(byService.get(r.service_id) ?? []), r]);
    const chains: DigestChain[] = [];
    for (const [serviceId, seals] of byService) {
      const first = seals.findIndex((s) => inRange(s.period_start, options.from, options.to));
      if (first < 0) continue;
      chains.push({
        serviceId,
        seals: seals.slice(first).map(digestSeal),
      });
    }
    const digest: DigestFile = {
      format: DIGEST_FORMAT,
      version: DIGEST_VERSION,
      generatedAt: new Date().toISOString(),
      from: options.from?.toISOString() ?? null,
      to: options.to?.toISOString() ?? null,
      services: options.serviceIds ? [...options.serviceIds] : null,
      closedBefore: options.closedBefore.toISOString(),
      publicKey: options.publicKey,
      chains,
    };
    if (options.onEvents)
      for (const chain of chains)
        for (const seal of coveredPeriods(chain, options.from ?? null, options.to ?? null)) {
          const { rows: events } = await client.query<SealedEvent>(PERIOD_EVENTS, [
            chain.serviceId,
            new Date(seal.periodStart),
          ]);
          await options.onEvents(events);
        }
    await client.query('commit');
    return digest;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Reads a digest file's text, saying what is wrong with one that is not a digest. */
export function parseDigest(text: string): DigestFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`the digest is not JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const d = value as Partial<DigestFile> | null;
  if (!d || d.format !== DIGEST_FORMAT) throw new Error(`the digest is not a ${DIGEST_FORMAT} file`);
  if (d.version !== DIGEST_VERSION)
    throw new Error(`the digest has format version ${String(d.version)}; this build reads ${DIGEST_VERSION}`);
  if (!Array.isArray(d.chains) || typeof d.closedBefore !== 'string')
    throw new Error('the digest has no chains or no closedBefore');
  return d as DigestFile;
}

const SEALED_EVENT_KEYS: (keyof SealedEvent)[] = [
  'time_us',
  'event_key',
  'occurrence',
  'source',
  'partition_id',
  'service_id',
  'client_id',
  'action',
  'status',
  'object_ids',
  'meta_malformed',
];

/** Reads one line of an events file; throws naming the line when it is not a sealed event. */
export function parseSealedEvent(line: string, lineNo: number): SealedEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`events line ${lineNo}: not JSON (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
  const e = value as Record<string, unknown> | null;
  const missing = SEALED_EVENT_KEYS.filter((k) => e?.[k] === undefined);
  if (!e || missing.length > 0) throw new Error(`events line ${lineNo}: not a sealed event (no ${missing.join(', ')})`);
  if (typeof e.time_us !== 'string' || !/^\d+$/.test(e.time_us))
    throw new Error(`events line ${lineNo}: time_us must be microseconds since the epoch, as text`);
  return e as unknown as SealedEvent;
}

/** One period as the offline check found it. */
export interface OfflinePeriod {
  serviceId: string;
  periodStart: string;
  version: number;
  sealedCount: number;
  fileCount: number;
  status: 'SEALED' | 'MISMATCH';
  problem: string | null;
}

/** What {@link checkDigest} found. */
export interface OfflineReport {
  verified: boolean;
  /** The fingerprint of the key the signatures were checked with, and whether it came from the digest itself. */
  key: { fingerprint: string; fromDigest: boolean } | null;
  chainProblems: string[];
  periods: OfflinePeriod[];
  /** Events of the file in closed hours that no seal of the digest covers. */
  unsealed: { serviceId: string; periodStart: string; count: number }[];
  /** Events of the file outside the digest's range or services (not checked). */
  outside: number;
}

/**
 * Checks a digest and a file of exported events against each other, without the database: every seal's hash, its
 * link to the seal before, its signature (by `trustedKey`, or else by the key the digest names), and every covered
 * period's Merkle root recomputed from the file's events.
 */
export function checkDigest(digest: DigestFile, events: Iterable<SealedEvent>, trustedKey?: KeyObject): OfflineReport {
  const chainProblems: string[] = [];
  let key: KeyObject | null = null;
  let keyInfo: OfflineReport['key'] = null;
  if (trustedKey) {
    const trusted = parsePublicKey(trustedKey.export({ type: 'spki', format: 'pem' }).toString());
    key = trustedKey;
    keyInfo = { fingerprint: trusted.fingerprint, fromDigest: false };
    if (digest.publicKey && digest.publicKey.fingerprint !== trusted.fingerprint)
      chainProblems.push(
        `the digest names key ${digest.publicKey.fingerprint}, not the trusted key ${trusted.fingerprint}`,
      );
  } else if (digest.publicKey) {
    const named = parsePublicKey(digest.publicKey.pem);
    key = named.key;
    keyInfo = { fingerprint: named.fingerprint, fromDigest: true };
    if (named.fingerprint !== digest.publicKey.fingerprint)
      chainProblems.push('the digest key does not match its own fingerprint');
  }
  for (const chain of digest.chains) {
    let before: string | null | undefined;
    for (const s of chain.seals) {
      const where = `seal ${s.id} (service ${chain.serviceId}, ${s.periodStart} v${s.version})`;
      const faults = sealFaults(chain.serviceId, s, key);
      if (before !== undefined && s.prevHash !== before)
        faults.push('the chain is broken (it does not point at the seal before it)');
      for (const fault of faults) chainProblems.push(`${where}: ${fault}`);
      before = s.sealHash;
    }
  }

  const from = digest.from ? new Date(digest.from) : undefined;
  const to = digest.to ? new Date(digest.to) : undefined;
  const grouped = new Map<string, SealedEvent[]>();
  let outside = 0;
  for (const e of events) {
    const hourMs = Math.floor(Number(BigInt(e.time_us) / 1000n) / 3_600_000) * 3_600_000;
    const hour = new Date(hourMs);
    if (!inRange(hour, from, to) || (digest.services && !digest.services.includes(e.service_id))) {
      outside++;
      continue;
    }
    const k = `${e.service_id}|${hour.toISOString()}`;
    const list = grouped.get(k);
    if (list) list.push(e);
    else grouped.set(k, [e]);
  }

  const periods: OfflinePeriod[] = [];
  for (const chain of digest.chains)
    for (const seal of coveredPeriods(chain, from ?? null, to ?? null)) {
      const k = `${chain.serviceId}|${seal.periodStart}`;
      const mine = grouped.get(k) ?? [];
      grouped.delete(k);
      const root = merkleRoot(orderedLeaves(mine)).toString('hex');
      const ok = root === seal.root;
      periods.push({
        serviceId: chain.serviceId,
        periodStart: seal.periodStart,
        version: seal.version,
        sealedCount: seal.eventCount,
        fileCount: mine.length,
        status: ok ? 'SEALED' : 'MISMATCH',
        problem: ok
          ? null
          : mine.length === seal.eventCount
            ? `the file's ${mine.length} event(s) differ from the sealed ones (changed)`
            : `the file holds ${mine.length} event(s), the seal ${seal.eventCount} (${mine.length < seal.eventCount ? 'missing' : 'added'} events)`,
      });
    }
  const closed = Date.parse(digest.closedBefore);
  const unsealed: OfflineReport['unsealed'] = [];
  for (const [k, list] of grouped) {
    const [serviceId = '', periodStart = ''] = k.split('|');
    if (Date.parse(periodStart) + 3_600_000 <= closed) unsealed.push({ serviceId, periodStart, count: list.length });
    else outside += list.length;
  }
  const verified = chainProblems.length === 0 && unsealed.length === 0 && periods.every((p) => p.status === 'SEALED');
  return { verified, key: keyInfo, chainProblems, periods, unsealed, outside };
}
