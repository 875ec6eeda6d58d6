import { DpodResponseError, walkPages, type Page } from '../../src/dpod';

/** A paged list of ids, `size` per page, answering `totalPages` as given; records the pages asked for. */
function pagedList(ids: string[], size: number, totalPages: (page: number) => number) {
  const asked: number[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const fetchPage = async (page: number): Promise<Page<{ id: string }>> => {
    asked.push(page);
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await new Promise((r) => setImmediate(r));
    inFlight--;
    const items = ids.slice(page * size, (page + 1) * size).map((id) => ({ id }));
    return { items, page, size, totalElements: ids.length, totalPages: totalPages(page) };
  };
  return { fetchPage, asked, mostInFlight: () => mostInFlight };
}

const options = { call: 'listServicesPage', route: 'GET /v1/service_instances', idOf: (s: { id: string }) => s.id };
const ids = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`);

describe('walkPages', () => {
  it('reads every page, four at a time after the first', async () => {
    const list = pagedList(ids(25), 2, () => 13);
    const all = await walkPages(list.fetchPage, options);
    expect(all.map((s) => s.id)).toEqual(ids(25));
    expect(list.asked).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(list.mostInFlight()).toBe(4);
  });

  it('ends at an empty page although the total claims more', async () => {
    const list = pagedList(ids(4), 2, () => 1e6);
    expect((await walkPages(list.fetchPage, options)).map((s) => s.id)).toEqual(ids(4));
    expect(list.asked).toEqual([0, 1, 2, 3, 4]);
  });

  it('keeps an id that two pages hold once, and fails when a page adds no new id', async () => {
    const repeated = (page: number): Promise<Page<{ id: string }>> =>
      Promise.resolve({
        items: [{ id: 'a' }, { id: page === 0 ? 'b' : 'a' }],
        page,
        size: 2,
        totalElements: 4,
        totalPages: 2,
      });
    const call = walkPages(repeated, options);
    await expect(call).rejects.toBeInstanceOf(DpodResponseError);
    await expect(call).rejects.toThrow('page 1 adds no new item: it repeats earlier pages');
  });
});
