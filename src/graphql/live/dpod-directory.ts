import { DpodResponseError } from '../../dpod/errors';
import type { DpodBinding, DpodService, Page } from '../../dpod/types';
import type { TtlCache } from './ttl-cache';

/** The part of the DPoD platform client the GraphQL layer reads (the `DpodClient` of `src/dpod/` fits it). */
export interface DpodReader {
  getService(id: string): Promise<DpodService | null>;
  listServicesPage(options: { page: number; size: number; serviceType?: string }): Promise<Page<DpodService>>;
  listBindings(serviceId: string): Promise<DpodBinding[] | null>;
}

/** Largest page DPoD serves. */
export const DPOD_MAX_PAGE_SIZE = 100;

/** Pages of the service list requested at once when reading all of it. */
const PAGES_AHEAD = 4;

/** Live DPoD lookups through the shared TTL cache (one upstream call per key per TTL, stale-if-error). */
export class DpodDirectory {
  constructor(
    private readonly dpod: DpodReader,
    private readonly cache: TtlCache,
  ) {}

  /** A service by id; null when DPoD does not know it (deleted, never existed). */
  service(id: string): Promise<DpodService | null> {
    return this.cache.get(`service:${id}`, () => this.dpod.getService(id));
  }

  /** Every client bound to a service; null when DPoD does not know the service. */
  bindings(serviceId: string): Promise<DpodBinding[] | null> {
    return this.cache.get(`bindings:${serviceId}`, () => this.dpod.listBindings(serviceId));
  }

  /** One page of DPoD's service list; the services on it are cached for later lookups by id. */
  async servicesPage(page: number, size: number, serviceType: string | null): Promise<Page<DpodService>> {
    const key = `services:${serviceType ?? '*'}:${page}:${size}`;
    const result = await this.cache.get(key, () =>
      this.dpod.listServicesPage({ page, size, ...(serviceType ? { serviceType } : {}) }),
    );
    for (const s of result.items) this.cache.set(`service:${s.id}`, s);
    return result;
  }

  /**
   * Every service (all pages, a few at a time), optionally of one type, each id once. DPoD's page count is not
   * trusted: the walk ends at an empty page, and a page that adds no new id fails it (a DPoD ignoring the page
   * parameter under a huge total would otherwise be asked for every page).
   */
  async allServices(serviceType: string | null): Promise<DpodService[]> {
    const first = await this.servicesPage(0, DPOD_MAX_PAGE_SIZE, serviceType);
    const byId = new Map(first.items.map((s) => [s.id, s]));
    for (let next = 1; next < first.totalPages; next += PAGES_AHEAD) {
      const numbers = Array.from({ length: Math.min(PAGES_AHEAD, first.totalPages - next) }, (_, i) => next + i);
      const pages = await Promise.all(numbers.map((n) => this.servicesPage(n, DPOD_MAX_PAGE_SIZE, serviceType)));
      for (const [i, page] of pages.entries()) {
        if (page.items.length === 0) return [...byId.values()];
        const before = byId.size;
        for (const s of page.items) if (!byId.has(s.id)) byId.set(s.id, s);
        if (byId.size === before) {
          throw new DpodResponseError(
            `page ${numbers[i]} of the service list repeats earlier pages (its total of ${first.totalPages} pages is wrong)`,
            {
              call: 'listServicesPage',
              route: 'GET /v1/service_instances',
              status: 200,
              retryable: false,
            },
          );
        }
      }
    }
    return [...byId.values()];
  }
}
