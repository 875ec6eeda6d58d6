import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-errors';

/** Bytes of a refused body the server will still read and discard to keep the connection usable. */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

function tooLarge(limit: number): HttpError {
  return new HttpError('BODY_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes.`, { limit });
}

/**
 * Discards the rest of a refused body so the client can read the 413 (closing a socket with unread input resets it);
 * gives up and closes the connection past {@link MAX_DISCARD_BYTES}.
 */
function discardRest(req: IncomingMessage): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > MAX_DISCARD_BYTES) req.socket.destroy();
  });
  req.resume();
}

/** Reads the request body up to `limit` bytes; larger bodies (by Content-Length or as they stream) get a 413 unparsed. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      discardRest(req);
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      chunks.length = 0;
      discardRest(req);
      reject(tooLarge(limit));
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new HttpError('BAD_REQUEST', `Could not read the request body: ${err.message}.`));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Parses a POST body as JSON (`application/json`, the GraphQL-over-HTTP media type). */
export function parseJsonBody(raw: Buffer, contentType: string | undefined): unknown {
  const type = (contentType ?? '').split(';', 1).join('').trim().toLowerCase();
  if (type !== 'application/json' && type !== 'application/graphql-response+json') {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'POST bodies must be JSON: send "Content-Type: application/json".');
  }
  if (raw.length === 0) throw new HttpError('BAD_REQUEST', 'POST body is empty: send {"query": "..."}.');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError('BAD_REQUEST', 'POST body is not valid JSON.');
  }
}
