import { apiError, badInput } from '../errors';

/** Default page size of every connection. */
export const DEFAULT_PAGE_SIZE = 50;

/** Relay paging arguments as received. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** Validated paging: which end to read from, how many, and from which cursor. */
export interface PageRequest<C> {
  /** `forward` for first/after, `backward` for last/before. */
  direction: 'forward' | 'backward';
  size: number;
  cursor: C | null;
}

/**
 * Validates Relay arguments: first/after or last/before (not both directions), sizes 1..max
 * (default {@link DEFAULT_PAGE_SIZE}); decodes the cursor with `decode`.
 */
export function parsePageArgs<C>(
  args: PageArgs,
  maxPageSize: number,
  decode: (cursor: string, argument: string) => C,
): PageRequest<C> {
  const forward = args.first != null || args.after != null;
  const backward = args.last != null || args.before != null;
  if (forward && backward) {
    throw badInput(
      'use either first/after (forward) or last/before (backward), not both',
      args.first != null ? 'last' : 'before',
    );
  }
  const name = backward ? 'last' : 'first';
  const size = (backward ? args.last : args.first) ?? Math.min(DEFAULT_PAGE_SIZE, maxPageSize);
  if (!Number.isInteger(size) || size < 1 || size > maxPageSize) {
    throw apiError('PAGE_SIZE_EXCEEDED', `${name} must be between 1 and ${maxPageSize} (got ${size})`, {
      argument: name,
      max: maxPageSize,
    });
  }
  const raw = backward ? args.before : args.after;
  const cursor = raw != null ? decode(raw, backward ? 'before' : 'after') : null;
  return { direction: backward ? 'backward' : 'forward', size, cursor };
}
