import { invalidCursor } from '../errors';
import { parsePosition, type EventPosition } from './audit-event';

const PREFIX = 'ae1:';

// A checksum makes altered cursors detectable. It is not a secret: a cursor only names a position,
// and the filter and the caller's scope apply to every page whatever the cursor says.
// FNV-1a (32 bits) over a salted payload: cheap enough for every edge of every page.
function checksum(payload: string): string {
  let h = 0x811c9dc5;
  const text = `dpod-audit-cursor|${payload}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Encodes a keyset position as an opaque cursor. */
export function encodeEventCursor(position: EventPosition): string {
  const payload = `${position.timeUs}:${position.id}`;
  return Buffer.from(`${PREFIX}${payload}:${checksum(payload)}`, 'utf8').toString('base64url');
}

/** Decodes a cursor of {@link encodeEventCursor}; any other text is an INVALID_CURSOR error naming the argument. */
export function decodeEventCursor(cursor: string, argument: string): EventPosition {
  if (!/^[A-Za-z0-9_-]{1,160}$/.test(cursor)) throw invalidCursor(argument);
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // Re-encoding must give back the same text: rejects padding games and altered bytes.
  if (Buffer.from(text, 'utf8').toString('base64url') !== cursor || !text.startsWith(PREFIX))
    throw invalidCursor(argument);
  const [, body, sum] = /^(\d+:\d+):([0-9a-f]{8})$/.exec(text.slice(PREFIX.length)) ?? [];
  if (body === undefined || checksum(body) !== sum) throw invalidCursor(argument);
  const position = parsePosition(body);
  if (!position || `${position.timeUs}:${position.id}` !== body) throw invalidCursor(argument);
  return position;
}
