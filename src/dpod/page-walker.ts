import { DpodResponseError } from './errors';
import type { Page } from './types';

/** Options of {@link walkPages}. */
export interface WalkPagesOptions<T> {
  /** Client method and templated route, for the error when DPoD lies about its pages. */
  call: string;
  route: string;
  /** The identity of an item: an item seen on an earlier page is kept once. */
  idOf: (item: T) => string;
  /** Pages requested at once after the first (default 4). */
  pagesAhead?: number;
}

/**
 * Every item of a paged DPoD list, each id once, reading pages `pagesAhead` at a time. DPoD's page count is not
 * trusted: the walk never goes past the first answer's count (nor a smaller one a later page gives: a total that
 * grows with every page would never end), ends at an empty page, and fails with {@link DpodResponseError} when a
 * page adds no new id (a DPoD ignoring the page parameter under a huge total would be asked for every page).
 */
export async function walkPages<T>(
  fetchPage: (page: number) => Promise<Page<T>>,
  options: WalkPagesOptions<T>,
): Promise<T[]> {
  const ahead = options.pagesAhead ?? 4;
  const first = await fetchPage(0);
  const byId = new Map(first.items.map((item) => [options.idOf(item), item]));
  let lastPage = first.totalPages;
  if (first.items.length === 0) return [];
  for (let next = 1; next < lastPage; next += ahead) {
    const numbers = Array.from({ length: Math.min(ahead, lastPage - next) }, (_, i) => next + i);
    const pages = await Promise.all(numbers.map((n) => fetchPage(n)));
    for (const [i, page] of pages.entries()) {
      const number = next + i;
      if (page.items.length === 0 || number >= lastPage) return [...byId.values()];
      const before = byId.size;
      for (const item of page.items) {
        const id = options.idOf(item);
        if (!byId.has(id)) byId.set(id, item);
      }
      if (byId.size === before) {
        throw new DpodResponseError(
          `page ${number} adds no new item: it repeats earlier pages (DPoD ignores the page parameter or its total of ${first.totalPages} pages is wrong)`,
          { call: options.call, route: options.route, status: 200, retryable: false, attempts: number + 1 },
        );
      }
      lastPage = Math.min(lastPage, page.totalPages);
    }
  }
  return [...byId.values()];
}
