import { createHash, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse as parseCsvStream } from 'csv-parse';
import type { AuditFilter, AuditFilterInput } from '../graphql/audit/audit-filter';
import type { EventOrder } from '../graphql/audit/audit-scope';
import { digestSeal, sealFaults, type DigestSeal } from '../integrity/digest';
import { SEAL_COLUMNS, type SealRow } from '../integrity/seal-record';
import { parsePublicKey, verifySignature, type PublicKeyInfo, type SigningKey } from '../integrity/signing-key';
import type { ExportConnect, ExportFormat, ExportSummary } from './event-export';

/** Name and version of the manifest format (docs/export.md#the-manifest-tying-a-file-to-the-seals). */
export const MANIFEST_FORMAT = 'dpod-audit-export-manifest';
export const MANIFEST_VERSION = 1;

const HOUR_MS = 3_600_000;

/** One (service, hour) the export covers: how many of its events the file holds, and the period's latest seal. */
export interface ManifestPeriod {
  serviceId: string;
  periodStart: string;
  exported: number;
  /** The filter selects every event of this period, so `exported` must equal the seal's `eventCount`. */
  complete: boolean;
  /** Retention dropped this period's events (its seal is kept): nothing of it can be in the file. */
  expired: boolean;
  /** The period's latest seal, as a digest file carries it; null: not sealed yet. */
  seal: DigestSeal | null;
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
  let droppedBefore: number | null;
  try {
    ({ rows: seals } = await client.query<SealRow>(
      `select distinct on (s.service_id, s.period_start) ${SEAL_COLUMNS}
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
    const { rows: cuts } = await client.query<{ dropped_before: Date | null }>(
      'select max(dropped_before) as dropped_before from integrity_retention',
    );
    droppedBefore = cuts[0]?.dropped_before?.getTime() ?? null;
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
        complete: whole && inRange && !(droppedBefore !== null && start < droppedBefore),
        expired: droppedBefore !== null && start < droppedBefore,
        seal: s ? digestSeal(s) : null,
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

/** A CSV cell as the export guards it (a leading `'` before a formula character), before any RFC 4180 quoting. */
const guarded = (text: string) => (/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);

/**
 * Reads an export file as a stream: the SHA-256 of its bytes, its events, and how many fall in each (service, hour),
 * keyed by the service id as the file holds it (a CSV's formula guard left on). Memory stays flat whatever its size.
 */
async function fileEvents(
  format: ExportFormat,
  file: Readable,
): Promise<{ sha256: string; events: number; periods: Map<string, number>; error: Error | null }> {
  const hash = createHash('sha256');
  const ended = once(file, 'end');
  file.on('data', (chunk: Buffer) => hash.update(chunk));
  const periods = new Map<string, number>();
  let events = 0;
  const add = (serviceId: string, time: string) => {
    const at = Date.parse(time);
    if (Number.isNaN(at)) throw new Error(`event ${events + 1} has no valid time (${JSON.stringify(time)})`);
    const k = `${serviceId}\n${new Date(Math.floor(at / HOUR_MS) * HOUR_MS).toISOString()}`;
    periods.set(k, (periods.get(k) ?? 0) + 1);
    events++;
  };
  let error: Error | null = null;
  try {
    if (format === 'ndjson') {
      for await (const line of createInterface({ input: file, crlfDelay: Infinity })) {
        if (line === '') continue;
        const e = JSON.parse(line) as { serviceId: string; time: string };
        add(e.serviceId, e.time);
      }
    } else {
      const rows = file.pipe(parseCsvStream({ columns: true, record_delimiter: '\r\n' }));
      for await (const r of rows as AsyncIterable<{ serviceId: string; time: string }>) add(r.serviceId, r.time);
    }
  } catch (err) {
    // Unreadable as an export: still hash every byte, so the report can say whether the file was changed.
    error = err instanceof Error ? err : new Error(String(err));
    file.resume();
  }
  await ended;
  return { sha256: hash.digest('hex'), events, periods, error };
}

/**
 * Checks an export file against its manifest without the database: the file's SHA-256 and its events per period,
 * every seal's hash and signature, every complete period's count against its seal, and the manifest's own
 * signature, with `trustedKey` (else the key the manifest names, which proves only that the files agree).
 */
export async function checkManifest(
  manifest: ExportManifest,
  file: Readable,
  trustedKey?: KeyObject,
): Promise<ManifestReport> {
  const problems: string[] = [];
  if (manifest.format !== MANIFEST_FORMAT || manifest.version !== MANIFEST_VERSION)
    throw new Error(`not an export manifest of version ${MANIFEST_VERSION} (format ${String(manifest.format)})`);
  const named = manifest.publicKey ? parsePublicKey(manifest.publicKey.pem) : null;
  const trusted = trustedKey ? parsePublicKey(trustedKey.export({ type: 'spki', format: 'pem' }).toString()) : null;
  const key = trusted ?? named;
  if (trusted && named && trusted.fingerprint !== named.fingerprint)
    problems.push(`the manifest names key ${named.fingerprint}, not the trusted key ${trusted.fingerprint}`);
  const read = await fileEvents(manifest.request.format, file);
  if (read.sha256 !== manifest.file.sha256)
    problems.push(
      `the file's SHA-256 is ${read.sha256}, the manifest says ${manifest.file.sha256}: the file was changed`,
    );
  if (read.error)
    problems.push(`the file is not ${manifest.request.format.toUpperCase()} as exported: ${read.error.message}`);
  const seen = read.error ? null : read;
  if (seen && seen.events !== manifest.file.events)
    problems.push(`the file holds ${seen.events} event(s), the manifest says ${manifest.file.events}`);
  if (key && !manifest.signature) problems.push('the manifest is not signed');
  if (key && manifest.signature && !verifySignature(key.key, manifestHash(manifest), manifest.signature))
    problems.push("the manifest's signature does not verify with that key: the manifest was changed");
  let sealed = 0;
  let unsealed = 0;
  const listed = new Set<string>();
  for (const p of manifest.periods) {
    const k = `${manifest.request.format === 'csv' ? guarded(p.serviceId) : p.serviceId}\n${p.periodStart}`;
    listed.add(k);
    const where = `${p.serviceId} ${p.periodStart}`;
    const inFile = seen?.periods.get(k) ?? 0;
    if (seen && inFile !== p.exported)
      problems.push(`${where}: the file holds ${inFile} event(s), the manifest ${p.exported}`);
    if (!p.seal) {
      unsealed++;
      continue;
    }
    const s = p.seal;
    const faults = sealFaults(p.serviceId, s, key?.key ?? null);
    for (const fault of faults) problems.push(`${where}: the seal: ${fault}`);
    let ok = faults.length === 0;
    if (p.complete && !p.expired && p.exported !== s.eventCount) {
      problems.push(
        `${where}: ${p.exported} event(s) exported of a period sealed with ${s.eventCount}: the store's events changed since it was sealed (dpod-audit verify locates it)`,
      );
      ok = false;
    }
    if (ok) sealed++;
  }
  for (const k of seen?.periods.keys() ?? [])
    if (!listed.has(k)) problems.push(`${k.replace('\n', ' ')}: the file holds events of a period the manifest omits`);
  return { verified: problems.length === 0, keyFingerprint: key?.fingerprint ?? null, problems, sealed, unsealed };
}
