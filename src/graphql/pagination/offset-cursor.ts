import { invalidCursor } from '../errors';

const PREFIX = 'off1:';

/** Encodes a list offset (for connections over DPoD's own pages). */
export function encodeOffsetCursor(offset: number): string {
  return Buffer.from(`${PREFIX}${offset}`, 'utf8').toString('base64url');
}

/** Decodes an {@link encodeOffsetCursor} cursor; anything else is INVALID_CURSOR. */
export function decodeOffsetCursor(cursor: string, argument: string): number {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(cursor)) throw invalidCursor(argument);
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^off1:(\d{1,9})$/.exec(text);
  if (!m || Buffer.from(text, 'utf8').toString('base64url') !== cursor || String(Number(m[1])) !== m[1])
    throw invalidCursor(argument);
  return Number(m[1]);
}

/** One window of an offset-paged list. */
export interface OffsetSlice<T> {
  items: { node: T; cursor: string }[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  totalCount: number;
}

/** Slices an in-memory list by Relay arguments whose cursors are offsets. */
export function sliceByOffset<T>(
  all: readonly T[],
  request: { direction: 'forward' | 'backward'; size: number; cursor: number | null },
): OffsetSlice<T> {
  let start: number;
  let end: number;
  if (request.direction === 'forward') {
    start = request.cursor == null ? 0 : request.cursor + 1;
    end = Math.min(all.length, start + request.size);
  } else {
    end = request.cursor == null ? all.length : Math.min(request.cursor, all.length);
    start = Math.max(0, end - request.size);
  }
  start = Math.min(start, all.length);
  return {
    items: all.slice(start, end).map((node, i) => ({ node, cursor: encodeOffsetCursor(start + i) })),
    hasNextPage: end < all.length,
    hasPreviousPage: start > 0,
    totalCount: all.length,
  };
}
