/** The DPoD simulator: a deterministic tenant, its audit records, export files and (below) an HTTP server. */
export { createTenant } from './tenant';
export type { SimService, SimClient } from './tenant';
export { generateRecords, renderRecordLine } from './record-generator';
export type { RawAuditRecord } from './record-generator';
export { summarizeRecords } from './record-summary';
export type { RecordSummary } from './record-summary';
export { writeExportFile, badLinesOf } from './export-file';
export { startSimulator, SIM_ROUTES } from './simulator-server';
export type { RunningSimulator } from './simulator-server';
