import type { DpodBinding, DpodService } from '../../dpod/types';
import { mayReadService } from '../auth-scope';
import type { Context } from '../context';
import { dpodUnavailable } from '../errors';
import { decodeOffsetCursor, encodeOffsetCursor, sliceByOffset, type OffsetSlice } from '../pagination/offset-cursor';
import { parsePageArgs, type PageArgs } from '../pagination/page-request';
import type { ClientRef } from '../types/client.type';
import type { ServiceRef } from '../types/service.type';
import { storableText } from '../text-input';
import { DPOD_MAX_PAGE_SIZE } from './dpod-directory';

/** The DPoD record of a service through the request's loader; null when DPoD does not know it. Throws DPOD_UNAVAILABLE. */
export function liveService(ctx: Context, id: string): Promise<DpodService | null> {
  return ctx.loaders.service.load(id);
}

/**
 * The service a client belongs to (known, or looked up in the rollups); null when never seen, or when that
 * service is outside the caller's scope (its live binding must not leak through a client seen elsewhere).
 */
export async function clientServiceId(ctx: Context, client: ClientRef): Promise<string | null> {
  const serviceId = client.serviceId !== undefined ? client.serviceId : await ctx.loaders.clientHome.load(client.id);
  return serviceId !== null && mayReadService(ctx.auth, serviceId) ? serviceId : null;
}

/** The live binding of a client; null when unbound or its service is unknown. Throws DPOD_UNAVAILABLE. */
export async function liveBinding(ctx: Context, client: ClientRef): Promise<DpodBinding | null> {
  const serviceId = await clientServiceId(ctx, client);
  if (serviceId === null) return null;
  const bindings = await ctx.loaders.bindings.load(serviceId);
  return bindings?.find((b) => b.clientId === client.id) ?? null;
}

/** Query.service: any id in the caller's scope resolves (unknown ones with inDpod = false). */
export function findService(ctx: Context, id: string): ServiceRef | null {
  return mayReadService(ctx.auth, storableText(id, 'id')) ? { id } : null;
}

/**
 * Query.client: a client the caller may see, i.e. seen acting on (or bound to) an allowed service.
 * A client never seen in the audit data is looked for in the live bindings of the (allowed) services.
 * Unrestricted callers get any id (an unknown one resolves with bound = false).
 */
export async function findClient(ctx: Context, id: string): Promise<ClientRef | null> {
  storableText(id, 'id');
  const home = await ctx.loaders.clientHome.load(id);
  if (home !== null && mayReadService(ctx.auth, home)) return { id, serviceId: home };
  const candidates =
    ctx.auth.serviceIds ??
    (ctx.directory ? (await ctx.directory.allServices(null).catch(() => [])).map((s) => s.id) : []);
  const lists = await Promise.all(
    candidates.map((serviceId) => ctx.loaders.bindings.load(serviceId).catch(() => null)),
  );
  const found = lists.findIndex((bindings) => bindings?.some((b) => b.clientId === id));
  if (found >= 0) return { id, serviceId: candidates[found]! };
  return ctx.auth.serviceIds === null ? { id, serviceId: home } : null;
}

/** Query.services: a page of DPoD's service list (DPoD pages underneath; the cursor is an offset). */
export async function pageServices(
  ctx: Context,
  args: PageArgs & { serviceType?: string | null },
): Promise<OffsetSlice<ServiceRef>> {
  const request = parsePageArgs(
    { first: args.first, after: args.after },
    ctx.deps.config.limits.maxPageSize,
    decodeOffsetCursor,
  );
  const directory = ctx.directory;
  if (!directory) throw dpodUnavailable('the DPoD platform API is not configured');
  const type = args.serviceType ?? null;
  const remember = (s: DpodService): ServiceRef => {
    ctx.loaders.service.prime(s.id, s);
    return { id: s.id };
  };
  try {
    if (ctx.auth.serviceIds !== null) {
      const all = (await directory.allServices(type)).filter((s) => mayReadService(ctx.auth, s.id));
      return sliceByOffset(all.map(remember), request);
    }
    const offset = request.cursor === null ? 0 : request.cursor + 1;
    const firstPage = Math.floor(offset / DPOD_MAX_PAGE_SIZE);
    const lastPage = Math.floor((offset + request.size - 1) / DPOD_MAX_PAGE_SIZE);
    const head = await directory.servicesPage(firstPage, DPOD_MAX_PAGE_SIZE, type);
    const pages = [head];
    for (let p = firstPage + 1; p <= lastPage && p < head.totalPages; p++)
      pages.push(await directory.servicesPage(p, DPOD_MAX_PAGE_SIZE, type));
    const window = pages
      .flatMap((p) => p.items)
      .slice(offset - firstPage * DPOD_MAX_PAGE_SIZE, offset - firstPage * DPOD_MAX_PAGE_SIZE + request.size);
    const slice = sliceByOffset(window.map(remember), { direction: 'forward', size: request.size, cursor: null });
    return {
      items: slice.items.map((item, i) => ({ node: item.node, cursor: encodeOffsetCursor(offset + i) })),
      hasNextPage: offset + window.length < head.totalElements,
      hasPreviousPage: offset > 0,
      totalCount: head.totalElements,
    };
  } catch (err) {
    if (err instanceof Error && err.name === 'GraphQLError') throw err;
    ctx.deps.logger?.warn({ err, requestId: ctx.requestId }, 'DPoD service list failed');
    throw dpodUnavailable('DPoD could not list services');
  }
}

/** Service.clients: a page of the service's live bindings. */
export async function pageClients(ctx: Context, serviceId: string, args: PageArgs): Promise<OffsetSlice<ClientRef>> {
  const request = parsePageArgs(
    { first: args.first, after: args.after },
    ctx.deps.config.limits.maxPageSize,
    decodeOffsetCursor,
  );
  const bindings = (await ctx.loaders.bindings.load(serviceId)) ?? [];
  return sliceByOffset(
    bindings.map((b) => ({ id: b.clientId, serviceId })),
    request,
  );
}
