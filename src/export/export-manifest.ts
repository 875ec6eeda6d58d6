import { createHash, type KeyObject } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import type { AuditFilter, AuditFilterInput } from '../graphql/audit/audit-filter';
import type { EventOrder } from '../graphql/audit/audit-scope';
import { sealHash } from '../integrity/seal-record';
import { parsePublicKey, verifySignature, type PublicKeyInfo, type SigningKey } from '../integrity/signing-key';
import type { ExportConnect, ExportFormat, ExportSummary } from './event-export';

/** Name and version of the manifest format (docs/export.md#the-manifest-tying-a-file-to-the-seals). */
export const MANIFEST_FORMAT = 'dpod-audit-export-manifest';
export const MANIFEST_VERSION = 1;

const HOUR_MS = 3_600_000;

/** A period's seal as the manifest carries it: all that its hash covers, the hash and the signature. */
export interface ManifestSeal {
  version: number;
  eventCount: number;
  root: string;
  prevHash: string | null;
  sealHash: string;
  signature: string | null;
  keyFingerprint: string | null;
  sealedAt: string;
}

/** One (service, hour) the export covers: how many of its events the file holds, and the period's latest seal. */
export interface ManifestPeriod {
  serviceId: string;
  periodStart: string;
  exported: number;
  /** The filter selects every event of this period, so `exported` must equal the seal's `eventCount`. */
  complete: boolean;
  seal: ManifestSeal | null;
}

/** The manifest of an export file: its request, its bytes' SHA-256, its periods and their seals, signed. */
export interface ExportManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  generatedAt: string;
  request: { format: ExportFormat; order: EventOrder; filter: Record<string, unknown> };
  file: { events: number; sha256: string };
  /** The filter restricts only time and services: whole periods are exported (but for the range's first and last). */
  wholePeriods: boolean;
  periods: ManifestPeriod[];
  /** The key that signed the manifest (and, normally, the seals), or null: unsigned. */
  publicKey: PublicKeyInfo | null;
  /** Ed25519 (base64) of the SHA-256 of the manifest's JSON without this member, or null. */
  signature: string | null;
}

/** The filter as JSON, as a request would send it (times as RFC 3339). */
function filterJson(input: AuditFilterInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input))
    if (value !== null && value !== undefined) out[key] = value instanceof Date ? value.toISOString() : value;
  return out;
}

/** Whether the filter selects events by time and service only. */
function onlyTimeAndServices(input: AuditFilterInput): boolean {
  return Object.entries(input).every(
    ([key, value]) => value === null || value === undefined || ['from', 'to', 'serviceIds'].includes(key),
  );
}

/** The SHA-256 (hex) that a manifest's signature signs: its JSON text without `signature`, members in order. */
export function manifestHash(manifest: ExportManifest): string {
  const body: Partial<ExportManifest> = { ...manifest };
  delete body.signature;
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

interface SealRow {
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
}

/**
 * Builds the manifest of an export once its summary is known: the latest seal of every period it wrote events of
 * (and, when it exports whole periods, of every sealed period of its range and services, so a period emptied since
 * it was sealed shows), signed with `signingKey` when there is one.
 */
export async function buildManifest(options: {
  connect: ExportConnect;
  request: { format: ExportFormat; order: EventOrder; filter: AuditFilterInput };
  filter: AuditFilter;
  summary: ExportSummary;
  signingKey: SigningKey | null;
}): Promise<ExportManifest> {
  const { request, filter, summary } = options;
  const whole = onlyTimeAndServices(request.filter);
  const client = await options.connect();
  let seals: SealRow[];
  try {
    ({ rows: seals } = await client.query<SealRow>(
      `select distinct on (s.service_id, s.period_start) s.service_id, s.period_start, s.version, s.event_count, s.root,
              s.prev_hash, s.seal_hash, s.signature, s.key_fingerprint, s.sealed_at
         from integrity_seals s
        where (s.service_id, s.period_start) in (select * from unnest($1::text[], $2::timestamptz[]))
           or ($3 and ($4::timestamptz is null or s.period_start >= $4) and ($5::timestamptz is null or s.period_start < $5)
               and ($6::text[] is null or s.service_id = any($6)))
        order by s.service_id, s.period_start, s.version desc`,
      [
        summary.periods.map((p) => p.serviceId),
        summary.periods.map((p) => p.periodStart.toISOString()),
        whole && !filter.empty,
        filter.from?.toISOString() ?? null,
        filter.to?.toISOString() ?? null,
        filter.serviceIds ?? null,
      ],
    ));
    client.release();
  } catch (err) {
    client.release(err instanceof Error ? err : true);
    throw err;
  }
  const key = (service: string, start: Date) => `${service}\n${start.getTime()}`;
  const exported = new Map(summary.periods.map((p) => [key(p.serviceId, p.periodStart), p.events]));
  const byPeriod = new Map(seals.map((s) => [key(s.service_id, s.period_start), s]));
  const keys = new Set([...exported.keys(), ...byPeriod.keys()]);
  const periods: ManifestPeriod[] = [...keys]
    .map((k) => {
      const [serviceId, ms] = k.split('\n') as [string, string];
      const start = Number(ms);
      const s = byPeriod.get(k);
      const inRange =
        (!filter.from || start >= filter.from.getTime()) && (!filter.to || start + HOUR_MS <= filter.to.getTime());
      return {
        serviceId,
        periodStart: new Date(start).toISOString(),
        exported: exported.get(k) ?? 0,
        complete: whole && inRange,
        seal: s
          ? {
              version: s.version,
              eventCount: s.event_count,
              root: s.root,
              prevHash: s.prev_hash,
              sealHash: s.seal_hash,
              signature: s.signature,
              keyFingerprint: s.key_fingerprint,
              sealedAt: s.sealed_at.toISOString(),
            }
          : null,
      };
    })
    .sort((a, b) => a.periodStart.localeCompare(b.periodStart) || a.serviceId.localeCompare(b.serviceId));
  const manifest: ExportManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    generatedAt: new Date().toISOString(),
    request: { format: request.format, order: request.order, filter: filterJson(request.filter) },
    file: { events: summary.events, sha256: summary.sha256 },
    wholePeriods: whole,
    periods,
    publicKey: options.signingKey?.publicKey ?? null,
    signature: null,
  };
  if (options.signingKey) manifest.signature = options.signingKey.sign(manifestHash(manifest));
  return manifest;
}

/** What an offline check of a file against its manifest found. */
export interface ManifestReport {
  verified: boolean;
  /** The fingerprint of the key the signatures were checked with, or null (none: nothing checked). */
  keyFingerprint: string | null;
  /** Each problem, in words naming the period it is about. */
  problems: string[];
  /** Periods whose seal verified, and periods the store had not sealed when the manifest was written. */
  sealed: number;
  unsealed: number;
}

/** The (service, hour) and count of each event of an export file, read from its text. */
function fileEvents(format: ExportFormat, text: string): { events: number; periods: Map<string, number> } {
  const periods = new Map<string, number>();
  const add = (serviceId: string, time: string) => {
    const hour = new Date(Math.floor(Date.parse(time) / HOUR_MS) * HOUR_MS).toISOString();
    const k = `${serviceId}\n${hour}`;
    periods.set(k, (periods.get(k) ?? 0) + 1);
  };
  let events = 0;
  if (format === 'ndjson') {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const e = JSON.parse(line) as { serviceId: string; time: string };
      add(e.serviceId, e.time);
      events++;
    }
  } else {
    const rows = parseCsv<{ serviceId: string; time: string }>(text, { columns: true, record_delimiter: '\r\n' });
    // A guarded cell (a formula's leading quote mark) is the stored id with a `'` before it.
    for (const r of rows) add(r.serviceId.replace(/^'(?=[=+\-@\t\r])/, ''), r.time);
    events = rows.length;
  }
  return { events, periods };
}

/**
 * Checks an export file against its manifest without the database: the file's SHA-256 and its events per period,
 * every seal's hash and signature, every complete period's count against its seal, and the manifest's own
 * signature, with `trustedKey` (else the key the manifest names, which proves only that the files agree).
 */
export function checkManifest(manifest: ExportManifest, file: Buffer, trustedKey?: KeyObject): ManifestReport {
  const problems: string[] = [];
  const named = manifest.publicKey ? parsePublicKey(manifest.publicKey.pem) : null;
  const trusted = trustedKey ? parsePublicKey(trustedKey.export({ type: 'spki', format: 'pem' }).toString()) : null;
  const key = trusted ?? named;
  if (trusted && named && trusted.fingerprint !== named.fingerprint)
    problems.push(`the manifest names key ${named.fingerprint}, not the trusted key ${trusted.fingerprint}`);
  const sha256 = createHash('sha256').update(file).digest('hex');
  if (sha256 !== manifest.file.sha256)
    problems.push(`the file's SHA-256 is ${sha256}, the manifest says ${manifest.file.sha256}: the file was changed`);
  let seen: ReturnType<typeof fileEvents>;
  try {
    seen = fileEvents(manifest.request.format, file.toString('utf8'));
  } catch (err) {
    problems.push(`the file is not ${manifest.request.format.toUpperCase()} as exported: ${(err as Error).message}`);
    seen = { events: -1, periods: new Map() };
  }
  if (seen.events >= 0 && seen.events !== manifest.file.events)
    problems.push(`the file holds ${seen.events} event(s), the manifest says ${manifest.file.events}`);
  if (key && !manifest.signature) problems.push('the manifest is not signed');
  if (key && manifest.signature && !verifySignature(key.key, manifestHash(manifest), manifest.signature))
    problems.push("the manifest's signature does not verify with that key: the manifest was changed");
  let sealed = 0;
  let unsealed = 0;
  const listed = new Set<string>();
  for (const p of manifest.periods) {
    const k = `${p.serviceId}\n${p.periodStart}`;
    listed.add(k);
    const where = `${p.serviceId} ${p.periodStart}`;
    const inFile = seen.periods.get(k) ?? 0;
    if (seen.events >= 0 && inFile !== p.exported)
      problems.push(`${where}: the file holds ${inFile} event(s), the manifest ${p.exported}`);
    if (!p.seal) {
      unsealed++;
      continue;
    }
    const s = p.seal;
    const body = {
      serviceId: p.serviceId,
      periodStart: new Date(p.periodStart),
      version: s.version,
      eventCount: s.eventCount,
      root: s.root,
      prevHash: s.prevHash,
    };
    let ok = true;
    if (sealHash(body) !== s.sealHash) {
      problems.push(`${where}: the seal's hash does not recompute: the seal was changed`);
      ok = false;
    }
    if (key && (!s.signature || !verifySignature(key.key, s.sealHash, s.signature))) {
      problems.push(`${where}: the seal is ${s.signature ? 'not signed by that key' : 'unsigned'}`);
      ok = false;
    }
    if (p.complete && p.exported !== s.eventCount) {
      problems.push(
        `${where}: ${p.exported} event(s) exported of a period sealed with ${s.eventCount}: the store's events changed since it was sealed (dpod-audit verify locates it)`,
      );
      ok = false;
    }
    if (ok) sealed++;
  }
  for (const k of seen.periods.keys())
    if (!listed.has(k)) problems.push(`${k.replace('\n', ' ')}: the file holds events of a period the manifest omits`);
  return { verified: problems.length === 0, keyFingerprint: key?.fingerprint ?? null, problems, sealed, unsealed };
}
