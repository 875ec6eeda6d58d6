/** A DPoD service instance, mapped from the platform API's `service_instances` item. */
export interface DpodService {
  id: string;
  name: string | null;
  serviceType: string | null;
  partitionSerialNumber: string | null;
  status: string | null;
  createdAt: Date | null;
  tenantId: string | null;
}

/** A client bound to a service, mapped from a `bindings` item. */
export interface DpodBinding {
  serviceId: string;
  clientId: string;
  name: string | null;
  createdAt: Date | null;
}

/** Known states of an audit export job (unknown states are passed through as strings). */
export const EXPORT_STATES = ['ACTIVE', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
/** One of {@link EXPORT_STATES}. */
type ExportState = (typeof EXPORT_STATES)[number];

/** An audit log export job of the Audit Query API. */
export interface ExportJob {
  jobId: string;
  /** One of {@link ExportState}, or a state DPoD added since (`string & {}` keeps the known ones in completion). */
  state: ExportState | (string & {});
  location: string | null;
  startedAt: Date | null;
  endedAt: Date | null;
  progress: number | null;
}

/** One page of a Spring-style paged list. */
export interface Page<T> {
  items: T[];
  page: number;
  size: number;
  totalElements: number;
  totalPages: number;
}

/** Filters of `GET /v1/service_instances`. */
export interface ServiceFilter {
  serviceType?: string;
  status?: string;
}

/** One outgoing DPoD call, reported to `onCall` (metrics-ready). */
export interface DpodCallRecord {
  /** Templated route, e.g. `GET /v1/service_instances/{id}/bindings`. */
  route: string;
  status: number | 'network_error' | 'timeout';
  durationMs: number;
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number;
}
