import { MAX_PAGE_SIZE, walkPages, type DpodBinding, type DpodService, type Page } from '../../dpod';
import type { TtlCache } from './ttl-cache';

/** The part of the DPoD platform client the GraphQL layer reads (the `DpodClient` of `src/dpod/` fits it). */
export interface DpodReader {
  getService(id: string): Promise<DpodService | null>;
  listServicesPage(options: { page: number; size: number; serviceType?: string }): Promise<Page<DpodService>>;
  listBindings(serviceId: string): Promise<DpodBinding[] | null>;
}

/** Largest page DPoD serves. */
export const DPOD_MAX_PAGE_SIZE = MAX_PAGE_SIZE;

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

  /** Every service (all pages, four at a time, each id once; see {@link walkPages}), optionally of one type. */
  allServices(serviceType: string | null): Promise<DpodService[]> {
    return walkPages((page) => this.servicesPage(page, DPOD_MAX_PAGE_SIZE, serviceType), {
      call: 'listServicesPage',
      route: 'GET /v1/service_instances',
      idOf: (s) => s.id,
    });
  }
}
