import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createExportStream, type ExportFormat } from './export-file';
import type { RawAuditRecord } from './record-generator';
import { SimHttpError } from './sim-http';
import type { UrlSigner } from './signed-url';
import type { Tenant } from './tenant';

/** The longest window one export may cover. */
export const MAX_EXPORT_DAYS = 31;
const DAY_MS = 86_400_000;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const FILTER_FIELDS = {
  source: 'source',
  actorId: 'actorid',
  action: 'action',
  status: 'status',
  tenantId: 'tenantid',
  resourceId: 'resourceid',
} as const;

/** A simulated export job. */
export interface SimExportJob {
  jobId: string;
  from: Date;
  /** End of the data: the requested `to`, but never after the clock's now at creation. */
  to: Date;
  filters: Partial<Record<keyof typeof FILTER_FIELDS, string>>;
  startedAt: Date;
  createdRealMs: number;
  willFail: boolean;
  format: ExportFormat;
  location: string | null;
}

const FILE_NAMES: Record<ExportFormat, string> = {
  'gzip-jsonl': 'audit-logs.json.gz',
  'zip-json': 'audit-logs.zip',
  'plain-jsonl': 'audit-logs.jsonl',
};

function parseTime(body: Record<string, unknown>, name: 'from' | 'to'): Date {
  const v = body[name];
  if (v === undefined || v === null || v === '')
    throw new SimHttpError(400, `'${name}' is required (RFC 3339, e.g. 2026-11-01T00:00:00Z)`);
  if (typeof v !== 'string' || !RFC3339.test(v) || Number.isNaN(Date.parse(v))) {
    throw new SimHttpError(
      400,
      `'${name}' must be an RFC 3339 date-time (e.g. 2026-11-01T00:00:00Z), got ${JSON.stringify(v)}`,
    );
  }
  return new Date(v);
}

/** Validates a `POST /v1/audit-log-exports` body and creates the job (400 with a message on a bad window). */
export function createExportJob(text: string, tenant: Tenant, format: ExportFormat, willFail: boolean): SimExportJob {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SimHttpError(400, 'Request body must be JSON: {"from": "...", "to": "..."}');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new SimHttpError(400, 'Request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const from = parseTime(b, 'from');
  const to = parseTime(b, 'to');
  if (from.getTime() >= to.getTime())
    throw new SimHttpError(400, `'from' (${from.toISOString()}) must be before 'to' (${to.toISOString()})`);
  if (to.getTime() - from.getTime() > MAX_EXPORT_DAYS * DAY_MS) {
    throw new SimHttpError(400, `The requested time range exceeds the maximum of ${MAX_EXPORT_DAYS} days`);
  }
  const filters: SimExportJob['filters'] = {};
  for (const key of Object.keys(FILTER_FIELDS) as (keyof typeof FILTER_FIELDS)[]) {
    const v = b[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw new SimHttpError(400, `'${key}' must be a string`);
    filters[key] = v;
  }
  const now = tenant.now();
  return {
    jobId: randomUUID(),
    from,
    to: new Date(Math.min(to.getTime(), now.getTime())),
    filters,
    startedAt: now,
    createdRealMs: Date.now(),
    willFail,
    format,
    location: null,
  };
}

/** The job as the API shows it; signs its location once it has succeeded. */
export function renderJob(
  job: SimExportJob,
  delayMs: number,
  signer: UrlSigner,
  baseUrl: string,
): Record<string, unknown> {
  const elapsed = Date.now() - job.createdRealMs;
  const done = elapsed >= delayMs;
  const state = !done ? 'ACTIVE' : job.willFail ? 'FAILED' : 'SUCCEEDED';
  if (state === 'SUCCEEDED' && job.location === null) {
    job.location = signer.sign(baseUrl, downloadPath(job), 24 * 3600);
  }
  return {
    jobId: job.jobId,
    startedAt: job.startedAt.toISOString(),
    endedAt: done ? new Date(job.startedAt.getTime() + delayMs).toISOString() : null,
    state,
    location: state === 'SUCCEEDED' ? job.location : null,
    progress: done ? 100 : Math.floor((elapsed / Math.max(delayMs, 1)) * 100),
  };
}

/** Path of a job's file on the simulator's "object store". */
export function downloadPath(job: SimExportJob): string {
  return `/exports/${job.jobId}/${FILE_NAMES[job.format]}`;
}

function fieldOf(record: RawAuditRecord, lowerName: string): unknown {
  for (const k of Object.keys(record)) if (k.toLowerCase() === lowerName) return record[k];
  return undefined;
}

/** Streams a job's file into the response, optionally cutting it after `truncateAfterBytes` bytes. */
export function sendExportFile(
  res: ServerResponse,
  tenant: Tenant,
  job: SimExportJob,
  truncateAfterBytes?: number,
): void {
  const entries = Object.entries(job.filters).map(
    ([k, v]) => [FILTER_FIELDS[k as keyof typeof FILTER_FIELDS], v] as const,
  );
  const filter =
    entries.length === 0 ? undefined : (r: RawAuditRecord) => entries.every(([field, v]) => fieldOf(r, field) === v);
  const body = createExportStream(tenant, job.from, job.to, job.format, { filter });
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename="${FILE_NAMES[job.format]}"`,
  });
  body.on('error', () => res.destroy());
  if (truncateAfterBytes === undefined) {
    body.pipe(res);
    return;
  }
  // Send the first bytes, then drop the connection mid-body, as a broken transfer would.
  let sent = 0;
  body.on('data', (chunk: Buffer) => {
    const room = truncateAfterBytes - sent;
    if (room > chunk.length) {
      sent += chunk.length;
      if (!res.write(chunk)) {
        body.pause();
        res.once('drain', () => body.resume());
      }
      return;
    }
    body.destroy();
    res.write(chunk.subarray(0, room), () => res.destroy());
  });
  body.on('end', () => res.end());
}
