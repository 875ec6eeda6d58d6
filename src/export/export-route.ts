import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { AuthScope } from '../graphql/auth-scope';
import { normalizeFilter, type AuditFilterInput } from '../graphql/audit/audit-filter';
import type { EventOrder } from '../graphql/audit/audit-scope';
import { HttpError } from '../server/http/http-errors';
import { parseJsonBody, readBody } from '../server/http/request-body';
import {
  EXPORT_FORMATS,
  exportChunks,
  type ExportConnect,
  type ExportFormat,
  type ExportSummary,
} from './event-export';
import type { ExportLinkSigner } from './export-link';
import { buildManifest } from './export-manifest';
import type { SigningKey } from '../integrity/signing-key';

/** Trailer fields sent after the last line: the SHA-256 of the (uncompressed) bytes and the number of events. */
export const SHA256_TRAILER = 'x-dpod-audit-export-sha256';
export const EVENTS_TRAILER = 'x-dpod-audit-export-events';

const stringList = z.array(z.string()).nullable().optional();
/** `AuditEventFilter` as JSON: the GraphQL input's fields, times as RFC 3339 text. */
const FilterJson = z
  .object({
    from: z.string().datetime({ offset: true }).nullable().optional(),
    to: z.string().datetime({ offset: true }).nullable().optional(),
    serviceIds: stringList,
    clientIds: stringList,
    actions: stringList,
    statuses: stringList,
    succeeded: z.boolean().nullable().optional(),
    roles: stringList,
    clientIps: stringList,
    hsmIds: stringList,
    objectId: z.string().nullable().optional(),
  })
  .strict();

const Request = z
  .object({
    format: z.enum(EXPORT_FORMATS).default('csv'),
    order: z.enum(['TIME_ASC', 'TIME_DESC']).default('TIME_ASC'),
    filter: FilterJson.default({}),
  })
  .strict();

/** What an export request asks for, validated. */
export interface ExportRequest {
  format: ExportFormat;
  order: EventOrder;
  filter: AuditFilterInput;
}

function problem(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
}

/** Reads and validates an export request: its JSON (a POST body, or the URL's `format`, `order`, `filter`). */
export function parseExportRequest(input: unknown): ExportRequest {
  const parsed = Request.safeParse(input);
  if (!parsed.success) throw new HttpError('BAD_REQUEST', `Invalid export request: ${problem(parsed.error)}.`);
  const f = parsed.data.filter;
  return {
    format: parsed.data.format,
    order: parsed.data.order,
    filter: { ...f, from: f.from ? new Date(f.from) : null, to: f.to ? new Date(f.to) : null },
  };
}

/** The JSON of a GET /export (query parameters; `filter` is JSON text). */
export function exportRequestFromUrl(url: URL): unknown {
  const out: Record<string, unknown> = {};
  for (const [key, value] of url.searchParams) {
    if (key === 'filter') {
      try {
        out.filter = JSON.parse(value) as unknown;
      } catch {
        throw new HttpError(
          'BAD_REQUEST',
          'The filter parameter is not JSON (an AuditEventFilter, e.g. {"succeeded":false}).',
        );
      }
    } else out[key] = value;
  }
  return out;
}

/**
 * Serves GET and POST /export (docs/export.md): the caller's events of a filter as CSV or NDJSON, streamed page by
 * page with the socket's backpressure, gzip when the client accepts it, the SHA-256 and count as trailers.
 */
export function createExportHandler(options: {
  connect: ExportConnect;
  /** Signs the manifests of /export/manifest (INTEGRITY_SIGNING_KEY); null: unsigned. */
  signingKey: SigningKey | null;
  bodyLimitBytes: number;
  links: ExportLinkSigner;
}) {
  return async function serveExport(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    authenticate: () => Promise<AuthScope>,
    headers: Record<string, string>,
  ): Promise<void> {
    const link = url.searchParams.get('link');
    let auth: AuthScope;
    let raw: unknown;
    if (link !== null && req.method === 'GET') {
      // A signed link (exportLink) stands for the token of whoever asked for it: its request and scope, until it expires.
      const grant = options.links.verify(link, url.searchParams.get('sig') ?? '');
      auth = { subject: grant.subject, serviceIds: grant.services };
      raw = grant.request;
    } else {
      auth = await authenticate();
      raw =
        req.method === 'POST'
          ? parseJsonBody(await readBody(req, options.bodyLimitBytes), req.headers['content-type'])
          : exportRequestFromUrl(url);
    }
    const request = parseExportRequest(raw);
    let filter;
    try {
      filter = normalizeFilter(request.filter, auth);
    } catch (err) {
      if (err instanceof GraphQLError) throw new HttpError('BAD_REQUEST', err.message);
      throw err;
    }
    if (url.pathname.replace(/\/+$/, '') === '/export/manifest') {
      // The manifest of the file the same request downloads: the export runs here (bytes hashed, not sent).
      let summary: ExportSummary = { events: 0, sha256: '', periods: [] };
      const chunks = exportChunks(options.connect, filter, request.format, request.order, {
        done: (s) => (summary = s),
      });
      for (let step = await chunks.next(); !step.done; step = await chunks.next()) if (res.destroyed) return;
      const manifest = await buildManifest({
        connect: options.connect,
        request,
        filter,
        summary,
        signingKey: options.signingKey,
      });
      res.writeHead(200, {
        ...headers,
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(`${JSON.stringify(manifest, null, 2)}\n`);
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    res.writeHead(200, {
      ...headers,
      'content-type': request.format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson',
      // gzip is the transfer's encoding (clients undo it), so the file keeps its own name.
      'content-disposition': `attachment; filename="dpod-audit-${stamp}.${request.format}"`,
      'cache-control': 'no-store',
      trailer: `${SHA256_TRAILER}, ${EVENTS_TRAILER}`,
      ...(gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : {}),
    });
    const zip = gzip ? createGzip() : null;
    if (zip) zip.pipe(res, { end: false });
    const out = zip ?? res;
    let summary: ExportSummary = { events: 0, sha256: '', periods: [] };
    for await (const chunk of exportChunks(options.connect, filter, request.format, request.order, {
      done: (s) => (summary = s),
    })) {
      if (res.destroyed) return;
      if (!out.write(chunk)) {
        // Wait for the socket, or for the client to go; the loser's listeners are removed (one wait per page).
        const settled = new AbortController();
        await Promise.race([
          once(out, 'drain', { signal: settled.signal }),
          once(res, 'close', { signal: settled.signal }),
        ]).finally(() => settled.abort());
      }
    }
    if (zip) {
      zip.end();
      await once(zip, 'end');
    }
    res.addTrailers({ [SHA256_TRAILER]: summary.sha256, [EVENTS_TRAILER]: String(summary.events) });
    res.end();
  };
}
