import { invalidCursor } from '../errors';
import { parsePosition, type EventPosition } from './audit-event';

const PREFIX = 'ae1:';

/** Encodes a keyset position as an opaque cursor. */
export function encodeEventCursor(position: EventPosition): string {
  return Buffer.from(`${PREFIX}${position.timeUs}:${position.id}`, 'utf8').toString('base64url');
}

/** Decodes a cursor of {@link encodeEventCursor}; any other text is an INVALID_CURSOR error naming the argument. */
export function decodeEventCursor(cursor: string, argument: string): EventPosition {
  if (!/^[A-Za-z0-9_-]{1,120}$/.test(cursor)) throw invalidCursor(argument);
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // Re-encoding must give back the same text: rejects padding games and altered bytes.
  if (Buffer.from(text, 'utf8').toString('base64url') !== cursor || !text.startsWith(PREFIX)) throw invalidCursor(argument);
  const position = parsePosition(text.slice(PREFIX.length));
  if (!position || `${position.timeUs}:${position.id}` !== text.slice(PREFIX.length)) throw invalidCursor(argument);
  return position;
}
