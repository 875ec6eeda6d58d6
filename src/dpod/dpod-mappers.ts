import type { DpodBinding, DpodService, ExportJob, Page } from './types';

/** Thrown by a mapper when a body lacks what it must have; the client wraps it in a DpodResponseError. */
export class ShapeError extends Error {}

type Json = Record<string, unknown>;

/** Lower-cases a key and drops `_`/`-`, so `service_id`, `serviceId` and `ServiceID` all read as `serviceid`. */
function norm(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** Reads fields of an object tolerantly: by any of several names, in any casing or separator style. */
function reader(obj: Json): (...names: string[]) => unknown {
  const map = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) {
    const n = norm(k);
    if (!map.has(n)) map.set(n, v);
  }
  return (...names) => {
    for (const name of names) {
      const v = map.get(norm(name));
      if (v !== undefined && v !== null) return v;
    }
    return undefined;
  };
}

function asObject(value: unknown, what: string): Json {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ShapeError(`${what} is not a JSON object`);
  return value as Json;
}

function str(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

function num(value: unknown): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Parses an API timestamp: RFC 3339, DPoD's `YYYY-MM-DD HH:MM:SS[.fff] UTC`, or epoch seconds/ms. */
export function parseApiDate(value: unknown): Date | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number') {
    const d = new Date(value < 1e12 ? value * 1000 : value);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  if (typeof value !== 'string') return null;
  const dpod = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?) ?UTC$/i.exec(value.trim());
  const d = new Date(dpod ? `${dpod[1]}T${dpod[2]}Z` : value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Maps a `service_instances` item (snake_case or camelCase) to a {@link DpodService}. */
export function toService(item: unknown): DpodService {
  const get = reader(asObject(item, 'service item'));
  const id = str(get('service_id', 'serviceId', 'id', 'instanceId'));
  if (!id) throw new ShapeError('service item has no service_id');
  return {
    id,
    name: str(get('name', 'serviceName')),
    serviceType: str(get('serviceType', 'service_type', 'type')),
    partitionSerialNumber: str(
      get('partition_serial_number', 'partitionSerialNumber', 'partitionSerial', 'partitionId'),
    ),
    status: str(get('status', 'state')),
    createdAt: parseApiDate(get('createdAt', 'created_at', 'created')),
    tenantId: str(get('tenantId', 'tenant_id', 'subscriberGroupId')),
  };
}

/** Maps a `bindings` item (`clientId` or `id`) to a {@link DpodBinding} of `serviceId`. */
export function toBinding(item: unknown, serviceId: string): DpodBinding {
  const get = reader(asObject(item, 'binding item'));
  const clientId = str(get('clientId', 'client_id', 'id'));
  if (!clientId) throw new ShapeError('binding item has no clientId or id');
  return {
    serviceId: str(get('serviceId', 'service_id')) ?? serviceId,
    clientId,
    name: str(get('name', 'clientName')),
    createdAt: parseApiDate(get('createdAt', 'created_at', 'created')),
  };
}

/** Maps an export job body to an {@link ExportJob}. */
export function toExportJob(body: unknown): ExportJob {
  const get = reader(asObject(body, 'export job'));
  const jobId = str(get('jobId', 'job_id', 'id'));
  if (!jobId) throw new ShapeError('export job has no jobId');
  const state = str(get('state', 'status'));
  if (!state) throw new ShapeError('export job has no state');
  return {
    jobId,
    state: state.toUpperCase(),
    location: str(get('location', 'url', 'downloadUrl')),
    startedAt: parseApiDate(get('startedAt', 'started_at', 'createdAt')),
    endedAt: parseApiDate(get('endedAt', 'ended_at', 'completedAt')),
    progress: num(get('progress')),
  };
}

/**
 * Maps a Spring page (`content` + `totalElements`/`totalPages`/`number`/`size`, or the HATEOAS form with a
 * `page` object) or a bare array to a {@link Page}.
 */
export function toPage<T>(
  body: unknown,
  map: (item: unknown) => T,
  requested: { page: number; size: number },
): Page<T> {
  if (Array.isArray(body)) {
    return {
      items: body.map(map),
      page: requested.page,
      size: requested.size,
      totalElements: body.length,
      totalPages: body.length > 0 ? 1 : 0,
    };
  }
  const get = reader(asObject(body, 'page'));
  let content = get('content', 'items', 'data', 'results');
  const embedded = get('_embedded');
  if (content === undefined && embedded && typeof embedded === 'object')
    content = Object.values(embedded as Json).find(Array.isArray);
  if (content === undefined) content = [];
  if (!Array.isArray(content)) throw new ShapeError('page content is not an array');
  const meta = get('page');
  const pageGet = meta && typeof meta === 'object' && !Array.isArray(meta) ? reader(meta as Json) : get;
  const size = num(pageGet('size')) ?? requested.size;
  const totalElements = num(pageGet('totalElements', 'total')) ?? content.length;
  return {
    items: content.map(map),
    page: num(pageGet('number', 'page')) ?? requested.page,
    size,
    totalElements,
    totalPages: num(pageGet('totalPages')) ?? (size > 0 ? Math.ceil(totalElements / size) : 0),
  };
}
