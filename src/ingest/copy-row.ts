import type { NormalizedFields } from './record-normalizer';

/** Columns of the staging table, in COPY order (the same names as in `audit_events`). */
export const STAGING_COLUMNS = [
  'time',
  'event_key',
  'occurrence',
  'source',
  'partition_id',
  'service_id',
  'client_id',
  'tenant_id',
  'action',
  'status',
  'trace_id',
  'client_ip',
  'hsm_id',
  'object_ids',
  'partition_serial',
  'role',
  'meta',
  'meta_raw',
  'meta_malformed',
  'extra',
  'ingest_run_id',
  'leaf',
  'line_digest',
] as const;

/** DDL of the session's staging table (emptied at every commit). */
export const STAGING_TABLE_DDL = `
  create temporary table if not exists ingest_staging (
    time timestamptz not null, event_key uuid not null, occurrence integer not null, source text not null,
    partition_id text not null, service_id text not null, client_id text not null, tenant_id text, action text not null,
    status text not null, trace_id text, client_ip inet, hsm_id text, object_ids text[] not null, partition_serial text,
    role text, meta jsonb, meta_raw text, meta_malformed boolean not null, extra jsonb, ingest_run_id bigint, leaf bytea,
    line_digest uuid
  ) on commit delete rows`;

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Escapes a value for COPY's text format. */
function text(value: string | null): string {
  if (value === null) return '\\N';
  return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : value;
}

function arrayLiteral(items: string[]): string {
  if (items.length === 0) return '{}';
  return `{${items.map((s) => `"${s.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}

/**
 * One COPY text-format line (with its newline) for the staging table; `leaf` is the event's leaf hash (hex), if known,
 * and `lineDigest` the digest of the input text it was read from (see lineDigest in event-key.ts), if known.
 */
export function encodeCopyRow(
  f: NormalizedFields,
  eventKey: string,
  occurrence: number,
  runId: string | null,
  leaf: string | null = null,
  lineDigest: string | null = null,
): string {
  return (
    `${f.time}\t${eventKey}\t${occurrence}\t${text(f.source)}\t${text(f.partitionId)}\t${text(f.serviceId)}\t` +
    `${text(f.clientId)}\t${text(f.tenantId)}\t${text(f.action)}\t${text(f.status)}\t${text(f.traceId)}\t` +
    `${text(f.clientIp)}\t${text(f.hsmId)}\t${text(arrayLiteral(f.objectIds))}\t${text(f.partitionSerial)}\t` +
    `${text(f.role)}\t${text(f.meta ? JSON.stringify(f.meta) : null)}\t${text(f.metaRaw)}\t${f.metaMalformed ? 't' : 'f'}\t` +
    `${text(f.extra ? JSON.stringify(f.extra) : null)}\t${runId ?? '\\N'}\t${leaf === null ? '\\N' : `\\\\x${leaf}`}\t${lineDigest ?? '\\N'}\n`
  );
}
