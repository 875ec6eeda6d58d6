import type { IncomingMessage, ServerResponse } from 'node:http';

/** Thrown by a route handler to answer with an error status and a Spring-style body. */
export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The reason phrase of a status. */
export function reasonOf(status: number): string {
  return REASONS[status] ?? 'Error';
}

/** A Spring Boot style error body. */
export function springError(status: number, message: string, path: string): Record<string, unknown> {
  return { timestamp: new Date().toISOString(), status, error: reasonOf(status), message, path };
}

/** Sends a JSON body. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Reads a request body as text, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = 1_000_000): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new SimHttpError(413, `request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a non-negative integer query parameter, with a default and bounds (400 outside them). */
export function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new SimHttpError(400, `${name} must be a whole number, got '${raw}'`);
  const n = Number(raw);
  if (n < min || n > max) throw new SimHttpError(400, `${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A Spring-style page of `items`. */
export function springPage<T>(items: T[], page: number, size: number): Record<string, unknown> {
  const totalElements = items.length;
  const totalPages = Math.ceil(totalElements / size);
  const content = items.slice(page * size, page * size + size);
  return {
    content,
    totalElements,
    totalPages,
    number: page,
    size,
    numberOfElements: content.length,
    first: page === 0,
    last: page >= totalPages - 1,
  };
}
