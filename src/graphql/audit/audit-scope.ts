import type { AuditFilter } from './audit-filter';

/** The column that ties a nested connection to its parent (Service.auditEvents, Client.actions). */
export type ParentDimension = 'service_id' | 'client_id';

/** Which events a connection covers: a filter, optionally narrowed to one parent. */
export interface AuditScope {
  filter: AuditFilter;
  parent: { dimension: ParentDimension; id: string } | null;
}

/** Order of a connection. */
export type EventOrder = 'TIME_ASC' | 'TIME_DESC';
