import { intParam, SimHttpError, springPage } from './sim-http';
import type { SimClient, SimService } from './tenant';
import type { Tenant } from './tenant';

/** How items are shaped: `documented` as the docs show them, `variants` alternating the spellings real clients have met. */
export type ApiShape = 'documented' | 'variants';

function serviceItem(s: SimService, tenant: Tenant, index: number, shape: ApiShape): Record<string, unknown> {
  const camel = shape === 'variants' && index % 2 === 1;
  return {
    [camel ? 'serviceId' : 'service_id']: s.id,
    name: s.name,
    serviceType: s.serviceType,
    [camel ? 'partitionSerialNumber' : 'partition_serial_number']: s.partitionSerialNumber,
    status: s.status,
    servicePlan: s.servicePlan,
    createdAt: s.createdAt.toISOString(),
    createdBy: s.createdBy,
    tenantId: tenant.tenantId,
  };
}

function bindingItem(s: SimService, c: SimClient, index: number, shape: ApiShape): Record<string, unknown> {
  const alt = shape === 'variants' && index % 2 === 1;
  return {
    [alt ? 'id' : 'clientId']: c.id,
    name: c.name,
    [alt ? 'service_id' : 'serviceId']: s.id,
    createdAt: c.createdAt.toISOString(),
    createdBy: c.createdBy,
  };
}

function pageParams(query: URLSearchParams): { page: number; size: number } {
  return { page: intParam(query, 'page', 0, 0, 1_000_000), size: intParam(query, 'size', 20, 1, 100) };
}

function serviceOr404(tenant: Tenant, id: string): SimService {
  const s = tenant.findListedService(id);
  if (!s) throw new SimHttpError(404, `Service instance ${id} not found`);
  return s;
}

/** `GET /v1/service_instances`: a page of the tenant's listed services, optionally filtered. */
export function listServiceInstances(tenant: Tenant, query: URLSearchParams, shape: ApiShape): unknown {
  const { page, size } = pageParams(query);
  const status = query.get('status');
  const type = query.get('serviceType');
  const items = tenant
    .listedServices()
    .filter((s) => (!status || s.status === status) && (!type || s.serviceType === type))
    .map((s, i) => serviceItem(s, tenant, i, shape));
  return springPage(items, page, size);
}

/** `GET /v1/service_instances/{id}`. */
export function getServiceInstance(tenant: Tenant, id: string, shape: ApiShape): unknown {
  const s = serviceOr404(tenant, id);
  return serviceItem(s, tenant, tenant.listedServices().indexOf(s), shape);
}

/** `GET /v1/service_instances/{id}/bindings`. */
export function listBindings(tenant: Tenant, id: string, query: URLSearchParams, shape: ApiShape): unknown {
  const s = serviceOr404(tenant, id);
  const { page, size } = pageParams(query);
  return springPage(
    s.clients.filter((c) => c.bound).map((c, i) => bindingItem(s, c, i, shape)),
    page,
    size,
  );
}

/** `GET /v1/service_instances/{id}/bindings/{clientId}`. */
export function getBinding(tenant: Tenant, id: string, clientId: string, shape: ApiShape): unknown {
  const s = serviceOr404(tenant, id);
  const bound = s.clients.filter((c) => c.bound);
  const index = bound.findIndex((c) => c.id === clientId);
  if (index < 0) throw new SimHttpError(404, `Binding ${clientId} not found for service instance ${id}`);
  return bindingItem(s, bound[index]!, index, shape);
}
