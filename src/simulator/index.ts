/** The DPoD simulator: a deterministic tenant, its audit records, export files and (below) an HTTP server. */
export { createTenant, LUNA_SERVICE_TYPE, OTHER_SERVICE_TYPES } from './tenant';
export type { Tenant, TenantOptions, SimService, SimClient } from './tenant';
export { generateRecords, generateEvents, renderRecordLine, formatDpodTime } from './record-generator';
export type { RawAuditRecord, GeneratedEvent } from './record-generator';
export { summarizeRecords } from './record-summary';
export type { RecordSummary } from './record-summary';
export { writeExportFile, createExportStream, badLinesOf, EXPORT_FORMATS } from './export-file';
export type { ExportFormat } from './export-file';
export { LUNA_ACTIONS, FUTURE_ACTION } from './luna-catalog';
export { startSimulator, SIM_ROUTES } from './simulator-server';
export type { SimulatorOptions, RunningSimulator } from './simulator-server';
export type { FaultSpec } from './fault-injector';
export type { ApiShape } from './platform-routes';
export { MAX_EXPORT_DAYS } from './export-routes';
